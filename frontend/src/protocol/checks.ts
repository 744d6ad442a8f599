// Compile-time checks that hand-written types keep up with the generated ones
// (generated/, from shared/schema): a field the schema requires must be in the hand type.
export type Assert<T extends true> = T;
type Known<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
type RequiredKeys<T> = {
  [K in keyof Known<T>]-?: object extends Pick<Known<T>, K> ? never : K;
}[keyof Known<T>];
export type Covers<Hand, Gen> = [RequiredKeys<Gen>] extends [keyof Hand] ? true : false;

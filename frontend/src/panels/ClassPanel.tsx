// Classes in the page: "share with class" in presenter mode (the code, the URL and a QR
// code, large enough to read from the back of a room; how many follow), and the
// follower's banner (whom it follows, "explore from here", the end of the class).
import { useEffect, useState } from "react";
import QRCode from "qrcode";
import { groupedCode, shareWithClass, useClass } from "../state/classroom";
import { exploreFromHere } from "../state/session";
import { useStore } from "../state/store";

export function ClassShare() {
  const presenter = useStore((s) => s.presenter);
  const loaded = useStore((s) => s.snapshot !== null);
  const shared = useClass((s) => s.shared);
  const following = useClass((s) => s.following || s.joining);
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  if (!presenter || following) return null;
  if (!open) {
    return (
      <div className="ew-class-bar">
        <button data-testid="class-share" disabled={!loaded} onClick={() => setOpen(true)}>
          {shared ? `class ${groupedCode(shared.code)} · ${shared.followers} following` : "share with class"}
        </button>
      </div>
    );
  }
  return (
    <div className="ew-class-card" data-testid="class-card">
      {shared ? (
        <>
          <div className="ew-class-big" data-testid="class-code" aria-label="class code">
            {groupedCode(shared.code)}
          </div>
          <div className="ew-class-url" data-testid="class-url">{shared.url}</div>
          <QrCode text={shared.url} />
          <div className="ew-class-count" data-testid="class-followers">
            {shared.followers} following
          </div>
        </>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            shareWithClass(title);
          }}
        >
          <label>
            your name, as the class will see it{" "}
            <input data-testid="class-title" value={title} maxLength={80} onChange={(e) => setTitle(e.target.value)} />
          </label>{" "}
          <button type="submit" data-testid="class-start">share</button>
        </form>
      )}
      <button className="ew-class-hide" aria-label="hide the class code" onClick={() => setOpen(false)}>×</button>
    </div>
  );
}

function QrCode({ text }: { text: string }) {
  const [svg, setSvg] = useState<string>("");
  useEffect(() => {
    let live = true;
    QRCode.toString(text, { type: "svg", errorCorrectionLevel: "M", margin: 2 })
      .then((out) => live && setSvg(out))
      .catch(() => live && setSvg(""));
    return () => {
      live = false;
    };
  }, [text]);
  if (!svg) return null;
  // the SVG is the library's own output for our URL (no user markup)
  return <div className="ew-class-qr" data-testid="class-qr" dangerouslySetInnerHTML={{ __html: svg }} />;
}

export function FollowBanner() {
  const following = useClass((s) => s.following);
  const joining = useClass((s) => s.joining);
  const ended = useClass((s) => s.ended);
  const loaded = useStore((s) => s.snapshot !== null);
  if (!following && !joining && !ended) return null;
  return (
    <div className="ew-notice ew-follow" data-testid="follow-banner" role="status">
      {following && (
        <span data-testid="following">
          Following {following.title ? <b>{following.title}</b> : "the teacher"} (class{" "}
          {groupedCode(following.code)}): you see what they show; the controls are theirs.
        </span>
      )}
      {!following && joining && <span>Joining class {groupedCode(joining)}…</span>}
      {!following && ended && <span data-testid="class-ended">{ended}</span>}
      {loaded && (following || ended) && (
        <button data-testid="explore-here" onClick={() => exploreFromHere()}>
          explore from here
        </button>
      )}
    </div>
  );
}

import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The server serves dist/ at "/" and the API + websocket on the same origin.
// In `npm run dev`, proxy those to a local `errorwave serve` on port 8000.
const backend = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 5000,
  },
  server: {
    proxy: {
      "/api": backend,
      "/healthz": backend,
      "/ws": { target: backend, ws: true },
    },
  },
});

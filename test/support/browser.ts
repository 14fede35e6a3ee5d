// Headless Debian Chromium (installed by `make setup`) driven by playwright-core, for the browser tests.
// The flags keep Chromium off the network this machine does not have (background services, updates,
// sync); playwright gives every launch a fresh temporary profile, so no state leaks between tests.
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.TALLY_CHROMIUM ?? "/usr/bin/chromium";

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

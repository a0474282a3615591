"""What the browser tests share: Chromium's launch settings, a watched browser context, logging in."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, ConsoleMessage, Page, Request

from tests.integration.world import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    # The room: a fake microphone and camera (a beep and a test pattern) granted without a prompt, and
    # WebRTC between two pages of this machine on loopback addresses, not hidden behind mDNS names.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
# Runs before any page script; the CSP cannot block it (it is injected by the browser's debugger).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class Watched:
    """A browser context whose every request, console error and CSP violation is kept for asserting."""

    context: BrowserContext
    base: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    async def new_page(self) -> Page:
        page = await self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.pages.append(page)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    async def csp_violations(self) -> list[str]:
        found: list[str] = []
        for page in self.pages:
            if not page.is_closed():
                found.extend(await page.evaluate("window.__cspViolations || []"))
        return found

    async def assert_clean(self, *, expected_failures: int = 0) -> None:
        """Only this server was contacted; no script error, no CSP violation, no unexpected failed load."""
        strangers = [url for url in self.requests if not url.startswith(self.base + "/")]
        assert strangers == [], strangers
        assert self.page_errors == [], self.page_errors
        violations = await self.csp_violations()
        assert violations == [], violations
        # Chromium reports every 4xx answer of fetch() as "Failed to load resource"; the tests that
        # provoke one (a wrong password, a bad import) say how many they expect.
        failed = [text for text in self.console_errors if text.startswith("Failed to load resource")]
        others = [text for text in self.console_errors if not text.startswith("Failed to load resource")]
        assert others == [], others
        assert not any("status of 5" in text for text in failed), failed
        assert len(failed) == expected_failures, failed


async def log_in(page: Page, base: str, username: str, path: str = "/") -> None:
    """Through the login form, as a person would."""
    await page.goto(base + path)
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(base + path)

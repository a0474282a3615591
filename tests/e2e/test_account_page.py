"""The account page in a real Chromium (issue 31): a member makes and revokes a script token and changes
their password from the page, and the old password stops working."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.world import PASSWORD, World

Watch = Callable[..., Awaitable[Watched]]
NEW_PASSWORD = "mật-khẩu-mới-của-đảng-viên-2026"


@pytest.mark.browser
async def test_a_member_keeps_tokens_and_changes_the_password(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    member = await watch()
    page = await member.new_page()
    await log_in(page, base, "member_a")
    await page.get_by_role("link", name="Tài khoản của tôi").click()
    await page.wait_for_url(base + "/account")
    await expect(page.locator("#account")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#tokens")).to_have_text("Bạn chưa có mã truy cập nào.")
    await expect(page.locator("#totp-state")).to_have_text("Đăng nhập hai bước đang tắt.")

    # A token, with the password entered again; shown once, then listed with its expiry.
    tokens = page.locator("section", has=page.get_by_role("heading", name="Mã truy cập cho tập lệnh"))
    await tokens.get_by_label("Tên mã truy cập").fill("báo cáo hằng đêm")
    await tokens.get_by_role("button", name="Tạo mã truy cập").click()
    await expect(page.locator("#token-error")).to_have_text("Nhập mật khẩu để tạo mã truy cập.")
    await tokens.get_by_label("Mật khẩu của bạn").fill(PASSWORD)
    await tokens.get_by_role("button", name="Tạo mã truy cập").click()
    await expect(page.locator("#token-made")).to_contain_text("Đã tạo mã truy cập “báo cáo hằng đêm”")
    token = await page.locator("#token-value").text_content()
    assert token is not None and len(token) > 20, token
    await expect(page.locator("#tokens li")).to_contain_text(["báo cáo hằng đêm — còn hiệu lực đến"])
    script = world.make_client()
    script.bearer = token
    assert (await script.get("/api/v1/auth/me")).status == 200

    # Revoked from the page: the script is out.
    await page.get_by_role("button", name="Thu hồi “báo cáo hằng đêm”").click()
    await expect(page.locator("#tokens li")).to_contain_text(["báo cáo hằng đêm — đã thu hồi"])
    assert (await script.get("/api/v1/auth/me")).status == 401

    # The password: a mismatch is caught on the page, a wrong current password by the API.
    form = page.locator("#password-form")
    await form.get_by_label("Mật khẩu hiện tại").fill(PASSWORD)
    await form.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
    await form.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD + "x")
    await form.get_by_role("button", name="Đổi mật khẩu").click()
    await expect(page.locator("#password-error")).to_have_text("Hai lần nhập mật khẩu mới không giống nhau.")
    await expect(form.get_by_label("Nhập lại mật khẩu mới")).to_be_focused()
    await form.get_by_label("Mật khẩu hiện tại").fill("không phải mật khẩu hiện tại")
    await form.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    await form.get_by_role("button", name="Đổi mật khẩu").click()
    await expect(page.locator("#password-error")).to_have_text(
        "Mật khẩu hiện tại (hoặc mã xác thực) không đúng."
    )
    await form.get_by_label("Mật khẩu hiện tại").fill(PASSWORD)
    await form.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
    await form.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    await form.get_by_role("button", name="Đổi mật khẩu").click()
    await expect(page.locator("#password-done")).to_have_text(
        re.compile(r"^Đã đổi mật khẩu\. Số phiên đăng nhập khác đã kết thúc: \d+\.$")
    )
    await expect(page.locator("#password-error")).to_have_text("")

    old = world.make_client()
    assert (await old.login("member_a", PASSWORD)).status == 401
    assert (await old.login("member_a", NEW_PASSWORD)).status == 200
    assert await member.csp_violations() == []
    assert member.page_errors == []
    assert all(url.startswith(base) for url in member.requests)

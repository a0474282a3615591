"""The operator's page in a real Chromium (issue 23, point 2): the operator creates 5 accounts from a
cell's register in one step and each activates through its link; a password reset link works and is
audited; a disabled account cannot log in; the pages pass axe and the Nu Html Checker and fit a phone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched, log_in
from tests.e2e.conformance import Findings, look, nu_html_checker
from tests.integration.world import PASSWORD, World

Watch = Callable[..., Awaitable[Watched]]
NEW_PASSWORD = "mật-khẩu-riêng-của-tôi-2026"
RESET_PASSWORD = "mật-khẩu-sau-khi-đặt-lại-2026"


async def choose_password(page: Page, link: str, password: str) -> None:
    await page.goto(link)
    await page.get_by_label("Mật khẩu mới", exact=True).fill(password)
    await page.get_by_label("Nhập lại mật khẩu mới").fill(password)
    await page.get_by_role("button", name="Đặt mật khẩu").click()
    await expect(page.locator("#link-done-text")).to_contain_text("Đã đặt mật khẩu")


async def log_in_with(page: Page, base: str, username: str, password: str) -> None:
    await page.goto(base + "/login")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu", exact=True).fill(password)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(base + "/")


async def fits_a_phone(page: Page) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width


@pytest.mark.browser
async def test_the_operator_creates_accounts_from_the_register_and_resets_a_password(
    world: World, watch: Watch, tmp_path: object
) -> None:
    base = str(world.server.url)
    operator = await watch(bypass_csp=True)  # axe is injected as a script tag
    page = await operator.new_page()
    await log_in(page, base, "operator")
    await page.get_by_role("link", name="Quản lý tài khoản").click()
    await page.wait_for_url(base + "/admin")
    await expect(page.locator("#admin")).to_have_attribute("data-ready", "true")
    await expect(page.locator('#accounts tr[data-username="member_a"]')).to_be_visible()

    # Five accounts from cell A's register in one step.
    await page.locator("#bulk-org").select_option(str(world.orgs["A"]))
    await (
        page.locator("#candidates-form").get_by_role("button", name="Xem đảng viên chưa có tài khoản").click()
    )
    boxes = page.locator("#candidates input[type=checkbox]")
    await expect(boxes).to_have_count(5)
    await page.get_by_label("Chọn tất cả").check()
    await page.get_by_role("button", name="Tạo tài khoản", exact=True).click()
    await expect(page.locator("#bulk-result-text")).to_contain_text("Đã tạo 5 tài khoản")
    rows = page.locator("#created tr")
    await expect(rows).to_have_count(5)
    created: list[tuple[str, str]] = []
    for index in range(5):
        row = rows.nth(index)
        username = (await row.locator("td").nth(1).text_content()) or ""
        link = (await row.locator("code").text_content()) or ""
        assert link.startswith(base + "/activate?token="), link
        created.append((username.strip(), link.strip()))
    assert {name for name, _ in created} == {
        "nguyen.van.mot",
        "tran.thi.hai",
        "le.van.ba",
        "pham.thi.bon",
        "hoang.van.nam",
    }
    await expect(page.locator('#accounts tr[data-username="le.van.ba"] .account-state')).to_contain_text(
        "đang chờ kích hoạt"
    )

    findings = Findings(tmp_path / "documents")  # type: ignore[operator]
    findings.folder.mkdir()
    await look(page, findings, "admin")
    await fits_a_phone(page)
    await page.set_viewport_size({"width": 1280, "height": 800})

    # Each person activates through their own link, then logs in with the password they chose.
    for number, (username, link) in enumerate(created):
        person = await (await watch(bypass_csp=True)).new_page()
        await person.goto(link)
        await expect(person.locator("#link-username")).to_have_text(username)
        await expect(person.get_by_role("heading", name="Lần đăng nhập đầu tiên")).to_be_visible()
        if number == 0:
            findings.save("activate.served", await person.content())
            await look(person, findings, "activate")
            await fits_a_phone(person)
        await choose_password(person, link, NEW_PASSWORD + username)
        await person.get_by_role("link", name="Đăng nhập").last.click()
        await person.wait_for_url(base + "/login")
        await log_in_with(person, base, username, NEW_PASSWORD + username)
    # A link works once: the first one again is refused in words.
    again = await (await watch(bypass_csp=True)).new_page()
    response = await again.goto(created[0][1])
    assert response is not None and response.status == 410
    await expect(again.locator("#link-refusal")).to_contain_text("đã được dùng")
    await look(again, findings, "activate-used")
    english = await again.goto(created[0][1] + "&lang=en")
    assert english is not None and english.status == 410
    await expect(again.locator("#link-refusal")).to_contain_text("already used")

    await page.reload()
    await expect(page.locator("#admin")).to_have_attribute("data-ready", "true")
    await expect(page.locator('#accounts tr[data-username="le.van.ba"] .account-state')).to_have_text(
        "đăng nhập được"
    )

    # A password reset: the link is shown once; the old password stops working once the new one is set.
    row = page.locator('#accounts tr[data-username="member_a"]')
    await row.get_by_role("button", name="Đặt lại mật khẩu").click()
    await expect(page.locator("#link-shown-text")).to_contain_text("Liên kết dùng một lần cho member_a")
    reset_link = (await page.locator("#link-shown-url").text_content()) or ""
    assert reset_link.startswith(base + "/reset?token="), reset_link
    await fits_a_phone(page)  # the long link wraps
    await page.set_viewport_size({"width": 1280, "height": 800})
    member = await (await watch()).new_page()
    await member.goto(reset_link)
    await expect(member.get_by_role("heading", name="Chọn mật khẩu mới")).to_be_visible()
    await choose_password(member, reset_link, RESET_PASSWORD)
    api = world.make_client()
    assert (await api.login("member_a", PASSWORD)).status == 401
    assert (await api.login("member_a", RESET_PASSWORD)).status == 200

    # The reset is in the audit log, the operator named as the one who issued it.
    operator_api = await world.as_user("operator")
    entries: list[dict[str, object]] = []
    after = 0
    while page_of := (await operator_api.get(f"/api/v1/audit/log?after={after}")).body["entries"]:
        entries += page_of
        after = page_of[-1]["seq"]
    target = f"user:{world.users['member_a']}"
    mine = [(e["action"], e["actor"]) for e in entries if e["target"] == target]
    assert ("user.password_reset_issued", world.users["operator"]) in mine, mine
    assert ("auth.password_reset", world.users["member_a"]) in mine, mine

    # A role granted from the page.
    await page.locator("#grant-user").select_option(str(world.users["outsider"]))
    await page.locator("#grant-org").select_option(str(world.orgs["B"]))
    await page.locator("#grant-role").select_option("auditor")
    await page.get_by_role("button", name="Giao vai trò").click()
    await expect(page.locator("#admin-done")).to_contain_text("Đã giao vai trò")
    await expect(page.locator('#accounts tr[data-username="outsider"]')).to_contain_text("Chi bộ Văn phòng")

    # A disabled account cannot log in.
    await (
        page.locator('#accounts tr[data-username="le.van.ba"]')
        .get_by_role("button", name="Vô hiệu hóa")
        .click()
    )
    await expect(page.locator("#admin-done")).to_contain_text("Đã vô hiệu hóa le.van.ba")
    await expect(page.locator('#accounts tr[data-username="le.van.ba"] .account-state')).to_contain_text(
        "đã vô hiệu hóa"
    )
    await look(page, findings, "admin-after")
    refused = await (await watch()).new_page()
    await refused.goto(base + "/login")
    await refused.get_by_label("Tên đăng nhập").fill("le.van.ba")
    await refused.get_by_label("Mật khẩu", exact=True).fill(NEW_PASSWORD + "le.van.ba")
    await refused.get_by_role("button", name="Đăng nhập").click()
    await expect(refused.locator("#login-error")).to_contain_text("đã bị vô hiệu hóa")

    assert operator.page_errors == [] and await operator.csp_violations() == []
    report = nu_html_checker(findings.folder)
    errors = [
        f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine')}: {m.get('message')}"
        for m in report["messages"]
        if m["type"] in ("error", "non-document-error") or m.get("subType") == "fatal"
    ]
    violations = {name: found for name, found in findings.axe.items() if found}
    assert (errors, violations) == ([], {}), "\n".join([*errors, repr(violations)])

"""The pages in a real Chromium: a secretary keeps the register and applies, an approver decides above it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched, log_in
from tests.integration.world import PASSWORD, World

Watch = Callable[..., Awaitable[Watched]]

BAD_CSV = "Họ và tên,Đảng viên,Lý do\nLý Thị Mười Một,chính thức,ở nước ngoài\nMai Văn Sai,không rõ,\n"
GOOD_CSV = "Họ và tên,Đảng viên,Lý do\nLý Thị Mười Một,chính thức,ở nước ngoài\nMai Văn Đúng,dự bị,\n"


async def open_unit(page: Page, base: str, org_id: int) -> None:
    await page.goto(f"{base}/orgs/{org_id}")
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")


async def import_file(page: Page, name: str, content: str) -> None:
    await page.get_by_label("Tệp CSV hoặc XLSX").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content.encode()}
    )
    await page.get_by_role("button", name="Nhập tệp", exact=True).click()


@pytest.mark.browser
async def test_secretary_keeps_the_register_and_an_approver_approves(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    cell = world.orgs["A"]
    secretary = await watch()
    page = await secretary.new_page()

    # Anonymous: the tree sends to the login form, which speaks Vietnamese and shows the API's error.
    await page.goto(base + "/")
    await page.wait_for_url(re.compile(r"/login\?next=/$"))
    assert await page.locator("html").get_attribute("lang") == "vi"
    await page.get_by_label("Tên đăng nhập").fill("sec_a")
    await page.get_by_label("Mật khẩu").fill("không phải mật khẩu")
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    await expect(page.locator("#login-error")).to_have_text(
        "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
    )
    await log_in(page, base, "sec_a")

    # The tree: the cell and its party group, with their kinds in Vietnamese.
    tree = page.locator("#tree")
    await expect(tree.get_by_role("link", name="Chi bộ Tàu Biển Đông 01")).to_be_visible()
    await expect(tree.locator("li").first).to_contain_text("chi bộ")
    await expect(tree).to_contain_text("Tổ đảng số 1")
    await expect(tree).to_contain_text("tổ đảng")
    await tree.get_by_role("link", name="Chi bộ Tàu Biển Đông 01").click()
    await page.wait_for_url(f"{base}/orgs/{cell}")
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chi bộ Tàu Biển Đông 01")
    # No auditor has read the cell yet: the access section says so.
    await expect(page.get_by_role("heading", name="Truy cập của cán bộ kiểm tra")).to_be_visible()
    await expect(page.locator("#access-log-empty")).to_be_visible()

    # The eligibility decision explained in Vietnamese, with the counts and the rule.
    api = await world.as_user("sec_a")
    decision = (await api.get(f"/api/v1/orgs/{cell}/eligibility")).body
    unable, total = decision["counts"]["cannot_meet_in_person"], decision["counts"]["register"]
    explanation = page.locator("#eligibility [data-field=explanation]")
    await expect(explanation).to_contain_text(f"Đủ điều kiện: {unable}/{total} đảng viên")
    await expect(explanation).to_contain_text("không thể sinh hoạt trực tiếp")
    await expect(explanation).to_contain_text("R-ELIG-2")
    counts = page.locator("#eligibility [data-field=counts]")
    await expect(counts).to_contain_text(f"Không thể sinh hoạt trực tiếp{unable}")
    await expect(counts).to_contain_text(f"Số đảng viên được tính (danh sách sinh hoạt){total}")
    await expect(page.locator("#eligibility [data-field=outcome]")).to_have_text("✓ Đủ điều kiện")

    # The register with Vietnamese labels.
    rows = page.locator("#members tr")
    await expect(rows).to_have_count(6)
    first = rows.filter(has_text="Nguyễn Văn Một")
    await expect(first).to_contain_text("chính thức")
    await expect(first).to_contain_text("thuyền viên / giàn khoan / hải đảo")
    await expect(rows.filter(has_text="Hoàng Văn Năm")).to_contain_text("dự bị")

    # A file with one bad row: every error listed with its line, nothing imported.
    await import_file(page, "dang-vien.csv", BAD_CSV)
    await expect(page.locator("#import-error")).to_contain_text("không có đảng viên nào được nhập")
    error_rows = page.locator("#import-errors tr")
    await expect(error_rows).to_have_count(1)
    await expect(error_rows.first.get_by_role("rowheader")).to_have_text("3")
    await expect(error_rows.first).to_contain_text("Dòng 3")
    await expect(rows).to_have_count(6)

    # The corrected file: imported, the new members in the table, the errors gone.
    await import_file(page, "dang-vien.csv", GOOD_CSV)
    await expect(page.locator("#import-status")).to_have_text("Đã nhập 2 đảng viên.")
    await expect(page.locator("#import-errors-region")).to_be_hidden()
    await expect(rows).to_have_count(8)
    await expect(rows.filter(has_text="Lý Thị Mười Một")).to_contain_text("ở nước ngoài")
    await expect(rows.filter(has_text="Mai Văn Đúng")).to_contain_text("dự bị")

    # One more member through the form.
    await page.get_by_label("Họ và tên", exact=True).fill("Đinh Văn Mới")
    await page.get_by_label("Loại đảng viên").select_option(label="chính thức")
    await page.get_by_label("Lý do không thể sinh hoạt trực tiếp").select_option(label="lực lượng vũ trang")
    await page.get_by_label("Tổ đảng", exact=True).select_option(label="Tổ đảng số 1")
    await page.get_by_role("button", name="Thêm vào danh sách").click()
    await expect(page.locator("#add-member-status")).to_have_text(
        "Đã thêm Đinh Văn Mới vào danh sách đảng viên."
    )
    await expect(rows).to_have_count(9)
    added = rows.filter(has_text="Đinh Văn Mới")
    await expect(added).to_contain_text("lực lượng vũ trang")
    await expect(added).to_contain_text("Tổ đảng số 1")
    await expect(page.get_by_label("Họ và tên", exact=True)).to_have_value("")

    # Apply for the online pilot.
    await page.get_by_label("Nội dung đăng ký").select_option("online")
    await page.get_by_role("button", name="Gửi đăng ký", exact=True).click()
    await expect(page.locator("#apply-status")).to_contain_text("Đã gửi đăng ký số")
    application = page.locator("#applications article").first
    await expect(application).to_contain_text("đang chờ quyết định")
    application_id = await application.get_attribute("data-application-id")
    assert application_id is not None
    await expect(page.locator("#pilot-online")).to_have_text("Chưa được phê duyệt")

    # The approver of the committee above, in a second browser context, decides with a number and dates.
    approver = await watch()
    decider = await approver.new_page()
    await log_in(decider, base, "approver_c", f"/orgs/{cell}")
    await expect(decider.locator("#unit")).to_have_attribute("data-ready", "true")
    pending = decider.locator(f"article[data-application-id='{application_id}']")
    await pending.get_by_label("Phê duyệt", exact=True).check()
    await pending.get_by_label("Số quyết định").fill("15-QĐ/ĐU")
    await pending.get_by_label("Ngày quyết định").fill("2026-11-20")
    await pending.get_by_label("Hiệu lực từ ngày").fill("2026-11-20")
    await pending.get_by_label("Hiệu lực đến ngày").fill("2027-11-19")
    await pending.get_by_role("button", name=f"Ghi quyết định cho đăng ký số {application_id}").click()
    await expect(decider.locator("#applications-status")).to_have_text(
        f"Đã ghi quyết định cho đăng ký số {application_id}: đã phê duyệt."
    )
    decided = decider.locator(f"article[data-application-id='{application_id}']")
    await expect(decided.locator(".status")).to_have_text("đã phê duyệt")
    await expect(decided).to_contain_text("Số 15-QĐ/ĐU ngày 20/11/2026")
    await expect(decided).to_contain_text("từ 20/11/2026 đến 19/11/2027 (ngày theo múi giờ Asia/Ho_Chi_Minh)")
    await expect(
        decided.get_by_role("button", name=f"Thu hồi phê duyệt (đăng ký số {application_id})")
    ).to_be_visible()
    await expect(decider.locator("#pilot-online")).to_contain_text("quyết định số 15-QĐ/ĐU")

    # The province's auditor reads the register: the secretary sees that read in the unit's access log.
    assert (await (await world.as_user("auditor_p")).get(f"/api/v1/orgs/{cell}/members")).status == 200
    # The secretary sees the decision; she has no decision form of her own.
    await open_unit(page, base, cell)
    access = page.locator("#access-log tr")
    await expect(access).to_have_count(1)
    await expect(access.first).to_contain_text("auditor_p")
    await expect(access.first).to_contain_text(f"GET /api/v1/orgs/{cell}/members")
    await expect(page.locator("#access-log-empty")).to_be_hidden()
    await expect(application.locator(".status")).to_have_text("đã phê duyệt")
    await expect(page.locator("#pilot-online")).to_have_text(
        "Đã phê duyệt: quyết định số 15-QĐ/ĐU, hiệu lực đến ngày 19/11/2027"
    )
    await expect(page.locator(".decision-form")).to_have_count(0)
    await expect(page.locator(".revoke-form")).to_have_count(0)

    # Logging out ends the session: the unit page sends to the login form again.
    await page.get_by_role("button", name="Đăng xuất").click()
    await page.wait_for_url(base + "/login")
    await page.goto(f"{base}/orgs/{cell}")
    await page.wait_for_url(re.compile(r"/login\?next="))

    # The wrong password (401) and the bad file (422) are the only failed loads.
    await secretary.assert_clean(expected_failures=2)
    await approver.assert_clean()


@pytest.mark.browser
async def test_an_approver_sees_a_flagged_unit_and_revokes_from_the_committee(
    world: World, watch: Watch
) -> None:
    base, cell, committee = str(world.server.url), world.orgs["A"], world.orgs["C"]
    secretary_api = await world.as_user("sec_a")
    approver_api = await world.as_user("approver_c")
    application = (
        await secretary_api.post(f"/api/v1/orgs/{cell}/pilot-applications", {"kind": "online"})
    ).body
    decision = {"approved": True, "decision_no": "7-QĐ/ĐU", "decided_on": "2026-11-01"}
    decision |= {"valid_from": "2026-11-01", "valid_to": "2027-10-31"}
    reply = await approver_api.post(f"/api/v1/pilot-applications/{application['id']}/decision", decision)
    assert reply.status == 200, reply.body
    # Two members who can meet in person: 4 of 8 is exactly half, which no longer qualifies (R-ELIG-2).
    for name in ("Quách Văn Một", "Quách Văn Hai"):
        reply = await secretary_api.post(
            f"/api/v1/orgs/{cell}/members", {"full_name": name, "standing": "official"}
        )
        assert reply.status == 201, reply.body

    secretary = await watch()
    page = await secretary.new_page()
    await log_in(page, base, "sec_a", f"/orgs/{cell}")
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#eligibility [data-field=outcome]")).to_have_text("✗ Chưa đủ điều kiện")
    await expect(page.locator("#eligibility [data-field=explanation]")).to_contain_text("đúng một nửa")
    await expect(page.locator("#pilot-flags")).to_contain_text("không còn đủ điều kiện")

    approver = await watch()
    decider = await approver.new_page()
    await log_in(decider, base, "approver_c", f"/orgs/{committee}")
    await expect(decider.locator("#unit")).to_have_attribute("data-ready", "true")
    await expect(decider.locator("#flags li")).to_have_count(1)
    await expect(decider.locator("#flags li")).to_contain_text(
        f"Chi bộ Tàu Biển Đông 01: không còn đủ điều kiện từ 15:00 23/11/2026 (giờ Asia/Ho_Chi_Minh) "
        f"(đăng ký số {application['id']})."
    )
    listed = decider.locator(f"article[data-application-id='{application['id']}']")
    await expect(listed.get_by_role("link", name="Chi bộ Tàu Biển Đông 01")).to_be_visible()
    await listed.get_by_label("Lý do thu hồi").fill("Chi bộ không còn đủ điều kiện (R-ELIG-2).")
    await listed.get_by_role("button", name=f"Thu hồi phê duyệt (đăng ký số {application['id']})").click()
    await expect(decider.locator("#applications-status")).to_have_text(
        f"Đã thu hồi phê duyệt của đăng ký số {application['id']}."
    )
    await expect(listed.locator(".status")).to_have_text("đã thu hồi")
    await expect(listed).to_contain_text("Chi bộ không còn đủ điều kiện (R-ELIG-2).")
    await expect(listed.locator("form")).to_have_count(0)
    # The flag was about that approval; once it is revoked the page no longer raises it.
    await expect(decider.locator("#flags li")).to_have_count(0)
    await expect(decider.get_by_text("Không có đơn vị nào bị cảnh báo.")).to_be_visible()
    await open_unit(page, base, cell)
    await expect(page.locator("#pilot-online")).to_have_text("Chưa được phê duyệt")
    await expect(page.locator("#pilot-flags")).to_have_text("")

    await secretary.assert_clean()
    await approver.assert_clean()


@pytest.mark.browser
async def test_the_pages_speak_english_on_request(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    watched = await watch()
    page = await watched.new_page()
    await page.goto(base + "/login?lang=en")
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.get_by_label("Username").fill("sec_a")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.locator("#login-error")).to_have_text("Wrong username, password or code.")

    # Back to Vietnamese with the switch, then log in and switch the tree to English.
    await page.get_by_role("link", name="Tiếng Việt").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    await log_in(page, base, "sec_a")
    await page.get_by_role("link", name="English").click()
    await page.wait_for_url(base + "/")
    assert await page.locator("html").get_attribute("lang") == "en"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    await expect(page.locator("#tree li").first).to_contain_text("party cell")
    await expect(page.locator("#roles")).to_contain_text("secretary — Chi bộ Tàu Biển Đông 01")

    await open_unit(page, base, world.orgs["A"])
    await expect(page.locator("#eligibility [data-field=outcome]")).to_have_text("✓ Eligible")
    await expect(page.locator("#eligibility [data-field=explanation]")).to_contain_text(
        "members of the active register cannot meet in person"
    )
    await expect(page.locator("#members tr").filter(has_text="Nguyễn Văn Một")).to_contain_text(
        "seafarer / offshore rig / island"
    )
    await watched.assert_clean(expected_failures=1)


@pytest.mark.browser
async def test_the_unit_page_fits_a_phone(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    for username in ("sec_a", "approver_c"):
        watched = await watch(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
        page = await watched.new_page()
        await log_in(page, base, username, f"/orgs/{world.orgs['A']}")
        await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
        await expect(page.locator("#members tr")).to_have_count(6)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{username}: the unit page is {width}px wide"
        await page.goto(base + "/")
        await expect(page.locator("#tree a").first).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await watched.assert_clean()


@pytest.mark.browser
async def test_names_from_the_register_are_shown_as_text(world: World, watch: Watch) -> None:
    cell = world.orgs["A"]
    hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    admin = await world.as_user("admin_c")
    assert (await admin.patch(f"/api/v1/orgs/{cell}", {"name": "Chi bộ " + hostile})).status == 200
    secretary = await world.as_user("sec_a")
    reply = await secretary.post(
        f"/api/v1/orgs/{cell}/members", {"full_name": hostile, "standing": "official"}
    )
    assert reply.status == 201, reply.body
    watched = await watch()
    page = await watched.new_page()
    await log_in(page, str(world.server.url), "sec_a", f"/orgs/{cell}")
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chi bộ " + hostile)
    await expect(page.locator("#members tr").filter(has_text=hostile)).to_have_count(1)
    assert await page.evaluate("window.__xss") is None
    await watched.assert_clean()


async def test_pages_need_a_session_and_hide_other_units(world: World) -> None:
    base = world.server.url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base / "orgs" / str(world.orgs["A"]), allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == f"/login?next=/orgs/{world.orgs['A']}"
        async with http.get(base.with_path("/login").with_query(next="//evil.example/x")) as response:
            assert response.status == 200
            assert 'data-next="/"' in await response.text()
        async with http.post(
            base / "api/v1/auth/login", json={"username": "sec_a", "password": PASSWORD}
        ) as response:
            assert response.status == 200
        async with http.get(base / "login", allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/"
        for other in (world.orgs["B"], 999_999, "abc"):
            async with http.get(base / "orgs" / str(other)) as response:
                assert response.status == 404
                assert "Không tìm thấy" in await response.text()
        async with http.get(base / "orgs" / str(world.orgs["A"])) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]

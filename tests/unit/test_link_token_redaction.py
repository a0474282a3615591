"""A one-time account link's token never reaches the access log (issue 23, point 2): the request line
of /activate, /reset and of the language switch that carries their address is masked."""

from __future__ import annotations

import logging

from server.pages.accounts_view import LinkTokenRedactor, mask_link_tokens_in_access_log

TOKEN = "Zk3_q-9aXbY0" * 3


def masked(line: str) -> tuple[str, str]:
    record = logging.LogRecord("aiohttp.access", logging.INFO, __file__, 1, line, None, None)
    record.first_request_line = line
    assert LinkTokenRedactor().filter(record) is True
    return record.msg, record.first_request_line


def test_the_token_is_masked_in_every_form_of_the_address() -> None:
    for line in (
        f'127.0.0.1 "GET /activate?token={TOKEN} HTTP/1.1" 200',
        f'127.0.0.1 "GET /reset?lang=en&token={TOKEN} HTTP/1.1" 410',
        f'127.0.0.1 "GET /language/en?next=%2Factivate%3Ftoken%3D{TOKEN} HTTP/1.1" 302',
    ):
        for text in masked(line):
            assert TOKEN not in text, text
            assert "token" in text  # the line still says what was asked for


def test_other_lines_are_left_alone_and_the_filter_is_installed_once() -> None:
    line = '127.0.0.1 "GET /api/v1/auth/tokens?token=abc HTTP/1.1" 200'
    assert masked(line) == (line, line)
    mask_link_tokens_in_access_log()
    mask_link_tokens_in_access_log()
    filters = logging.getLogger("aiohttp.access").filters
    assert sum(isinstance(f, LinkTokenRedactor) for f in filters) == 1

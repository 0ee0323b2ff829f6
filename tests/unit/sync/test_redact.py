from __future__ import annotations

import pytest

from daemon.sync.redact import Redactor

KEYS = {
    "openai": "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
    "openai-proj": "sk-proj-" + "Zz9_Yy8-Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0",
    "anthropic": "sk-ant-api03-" + "abcdefghijklmnopqrstuvwxyz012345",
    "google": "AIza" + "SyA1234567890abcdefghijklmnopqrstuv",
    "github": "ghp_" + "a" * 36,
    "github-pat": "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop",
    "gitlab": "glpat-" + "xYz1234567890abcdEFGH",
    "aws-access-key": "AKIA" + "IOSFODNN7EXAMPLE",
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_each_provider_key_becomes_a_marker(name: str) -> None:
    text = f"here: {KEYS[name]} (do not share)"
    out = Redactor().text(text)
    assert KEYS[name] not in out
    assert "[REDACTED:" in out
    assert out.startswith("here: ") and out.endswith(" (do not share)")


def test_anthropic_key_is_named_anthropic_not_openai() -> None:
    assert Redactor().text(KEYS["anthropic"]) == "[REDACTED:anthropic]"


def test_private_key_block_is_removed_whole() -> None:
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----"
    out = Redactor().text(f"key:\n{block}\nafter")
    assert out == "key:\n[REDACTED:private-key]\nafter"


def test_assignments_keep_their_name() -> None:
    out = Redactor().text('password=hunter22 DB_TOKEN: "abc123xyz" secret = s3cr3tvalue')
    assert out == (
        'password=[REDACTED:assignment] DB_TOKEN: "[REDACTED:assignment]"'
        " secret = [REDACTED:assignment]"
    )


def test_aws_secret_key_assignment() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    out = Redactor().text(f"aws_secret_access_key = {secret}")
    assert secret not in out and out.startswith("aws_secret_access_key = [REDACTED:")


def test_extra_patterns_and_switch() -> None:
    assert Redactor([r"ACME-\d{6}"]).text("id ACME-123456") == "id [REDACTED:custom]"
    assert Redactor(enabled=False).text(KEYS["openai"]) == KEYS["openai"]


def test_values_are_redacted_recursively_and_ordinary_text_is_left() -> None:
    value = {"text": "plain words", "calls": [{"args": {"env": f"KEY={KEYS['gitlab']}"}}], "n": 3}
    out = Redactor().value(value)
    assert out["text"] == "plain words" and out["n"] == 3
    assert KEYS["gitlab"] not in str(out)


def test_credentials_in_urls_and_secret_keys_in_structured_text() -> None:
    from daemon.sync.redact import Redactor

    r = Redactor()
    assert r.text("see postgresql://bob:pw-9x@db/team") == (
        "see postgresql://bob:[REDACTED:url-password]@db/team"
    )
    assert "PW" not in r.text("mysql://user:PW@host/db")
    assert r.text('{"db_password": "two words", "n": 1}') == (
        '{"db_password": "[REDACTED:assignment]", "n": 1}'
    )
    assert r.text('password = "a b c"') == 'password = "[REDACTED:assignment]"'
    assert r.text("db_password: hunter2") == "db_password: [REDACTED:assignment]"
    for ordinary in ("the author: bob", "max_tokens: 4096", "http://example.com/a@b"):
        assert r.text(ordinary) == ordinary


def test_a_secret_named_key_has_its_value_replaced_in_json_fields() -> None:
    from daemon.sync.redact import Redactor

    value = {"calls": [{"error": "postgresql://u:pw@h/d"}], "apiKey": "k1", "name": "n"}
    assert Redactor().value(value) == {
        "calls": [{"error": "postgresql://u:[REDACTED:url-password]@h/d"}],
        "apiKey": "[REDACTED:assignment]",
        "name": "n",
    }

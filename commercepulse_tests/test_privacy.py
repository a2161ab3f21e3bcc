"""The one masking rule (lib/privacy.py): every e-mail and phone in any text is masked, and what
is not personal (dates, times with offsets, amounts, ids, masked values) is left as it was."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commercepulse.lib.privacy import mask_personal, mask_text

LOCAL = st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=12).filter(
    lambda s: s[0].isalnum()
)
DOMAIN = st.sampled_from(["example.com", "mail.example.org", "yahoo.co.uk", "gmail.com"])
PHONE = st.one_of(
    st.from_regex(r"\+234[789][01]\d{8}", fullmatch=True),
    st.from_regex(r"0[789][01]\d{8}", fullmatch=True),
    st.from_regex(r"\+234 [789][01]\d \d{3} \d{4}", fullmatch=True),
)
HARMLESS = st.sampled_from(
    [
        "2025-01-14T10:00:00+01:00",
        "2025-01-14 10:00:00",
        "amount 1234567890.50",
        "ref TX-12345678901",
        "order 98765432",
        "kobo 0.125",
        "a***@example.com",
        "***3201",
    ]
)


@given(LOCAL, DOMAIN, PHONE, HARMLESS, HARMLESS)
def test_every_email_and_phone_is_masked_and_the_rest_kept(local, domain, phone, before, after):
    email = f"{local}@{domain}"
    text = f'{before} {{"email": "{email}", "phone": "{phone}"}} {after}'
    masked = mask_text(text)
    assert email not in masked and phone not in masked
    assert f"{local[0]}***@{domain}" in masked
    assert f"***{phone.replace(' ', '')[-4:]}" in masked
    assert masked.startswith(before) and masked.endswith(after)
    assert mask_text(masked) == masked  # masking twice changes nothing


def test_structures_are_masked_through_and_other_values_kept():
    shown = mask_personal(
        {"rows": [{"email": "ada@example.com", "n": 3}], "note": ("call +2348010683201",)}
    )
    assert shown == {"rows": [{"email": "a***@example.com", "n": 3}], "note": ("call ***3201",)}

"""Texts that exercise a BPE encoding's split pattern: prose, code, digits, whitespace runs,
non-Latin scripts, emoji and a special token's text."""

from __future__ import annotations

SAMPLE_TEXTS: tuple[str, ...] = (
    "tiktoken is great!",
    "Say this is a test",
    "The quick brown fox jumps over the lazy dog. It's 12,345.67 USD (or 1e-9?) -- isn't it?",
    "def price(usage: TokenUsage) -> Decimal:\n    return usage.input_tokens * Decimal('2.5') / 10**6\n",
    "    indented\t\ttabs\r\nCRLF line   and trailing spaces   \n\n\n",
    "Größenordnung, façade, naïve, Ærøskøbing; Москва; 東京都の天気は晴れです。; مرحبا بالعالم",
    "emoji: 😀🎉👩‍💻 and flags 🇫🇷🇯🇵",
    "special token text <|endoftext|> stays text; <|endofprompt|> too",
    "0123456789 00000 1234567890123 3.14159265358979",
    "https://api.openai.com/v1/chat/completions?model=gpt-4o&key=REDACTED",
)

"""Instrumentation helpers: the prompt template hash and prompt attributes on spans.

The hash rule
-------------
:func:`template_hash` must give the same value for the same template in every
service, language and year, so its rule is fixed and small:

1. decode nothing, guess nothing: the input is the template *before* rendering,
   as a Python ``str``;
2. turn every CRLF (``\\r\\n``) and lone CR (``\\r``) into LF (``\\n``);
3. strip trailing whitespace (``str.rstrip()``) from every line;
4. drop trailing blank lines, so a final newline or its absence does not matter;
5. encode as UTF-8, take SHA-256, and keep the first 12 lowercase hex digits.

Nothing else is normalised: leading indentation, inner spaces, letter case and
Unicode form all count, because each can change what a model does. Re-implement
these five steps in any language and the hashes match.
"""

from __future__ import annotations

import hashlib

__all__ = ["template_hash", "HASH_LENGTH"]

HASH_LENGTH = 12
"""Hex digits kept from the SHA-256 digest (48 bits: a collision among 10,000
templates has a probability below 2e-7)."""


def normalize_template(template: str) -> str:
    """Apply the normalisation of the hash rule (steps 2-4) and return the text.

    Examples
    --------
    >>> normalize_template("Hi {name}.  \\r\\nBye\\r\\n\\r\\n")
    'Hi {name}.\\nBye'
    """
    if not isinstance(template, str):
        raise TypeError(
            f"template must be a str (the template before rendering), got "
            f"{type(template).__name__}"
        )
    text = template.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def template_hash(template: str) -> str:
    """Short, stable content hash of a prompt template.

    Parameters
    ----------
    template : str
        The template before rendering (placeholders such as ``{language}`` left
        in).

    Returns
    -------
    str
        12 lowercase hex digits; see the module docstring for the exact rule.

    Examples
    --------
    >>> a = template_hash("Reply in {language}.\\n")
    >>> a == template_hash("Reply in {language}.  \\r\\n")
    True
    >>> a == template_hash("Reply briefly in {language}.\\n")
    False
    >>> len(a)
    12
    """
    digest = hashlib.sha256(normalize_template(template).encode("utf-8"))
    return digest.hexdigest()[:HASH_LENGTH]

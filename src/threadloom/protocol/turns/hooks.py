"""Hook prompts: user ``response_item`` messages that become ``hookPrompt`` items (6.4).

A user message is a hook prompt when *every* content item is ``input_text`` whose trimmed text
reads as one XML element with a non-blank ``hook_run_id`` attribute and some text, e.g.
``<hook_prompt hook_run_id="run-1">Please fix lint</hook_prompt>``. Codex reads it with an
XML deserialiser (observed on 0.169.0): the element name is not checked, other attributes are
ignored, entities and CDATA are decoded, comments and child elements are skipped (only the
element's own text counts), ``\\r\\n`` reads as ``\\n``, text after the element is ignored,
an element without text (``<x hook_run_id="r"/>``, ``<x …></x>``) is not a hook prompt.
"""

from __future__ import annotations

import re

RUST_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters Rust's ``str::trim`` removes (Unicode ``White_Space``)."""

_NAME = r"[^\s<>/=\"'!?]+"
_START = re.compile(rf"<({_NAME})((?:\s+{_NAME}\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
_ATTR = re.compile(rf"({_NAME})\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class _XmlError(ValueError):
    pass


def _decode(text: str) -> str:
    def entity(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        if name in _NAMED:
            return _NAMED[name]
        raise _XmlError(f"unknown entity &{name};")

    if "&" in text and _ENTITY.sub("", text).count("&"):
        raise _XmlError("bare ampersand")
    return _ENTITY.sub(entity, text)


def _skip_misc(text: str, pos: int) -> int:
    """Skip whitespace, the XML declaration, processing instructions, comments, DOCTYPE."""
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        for start, end in (("<?", "?>"), ("<!--", "-->"), ("<!DOCTYPE", ">")):
            if text.startswith(start, pos):
                close = text.find(end, pos + len(start))
                if close < 0:
                    raise _XmlError("unterminated markup")
                pos = close + len(end)
                break
        else:
            return pos


def _element_text(text: str, pos: int, name: str) -> tuple[str | None, int]:
    """The element's own text (None if it has none) and the position after its end tag."""
    pieces: list[str] = []
    depth = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            raise _XmlError("unterminated element")
        if depth == 0 and lt > pos:
            pieces.append(_decode(text[pos:lt]).replace("\r\n", "\n").replace("\r", "\n"))
        if text.startswith("<!--", lt):
            close = text.find("-->", lt + 4)
            if close < 0:
                raise _XmlError("unterminated comment")
            pos = close + 3
        elif text.startswith("<![CDATA[", lt):
            close = text.find("]]>", lt + 9)
            if close < 0:
                raise _XmlError("unterminated CDATA")
            if depth == 0:
                pieces.append(text[lt + 9 : close])
            pos = close + 3
        elif text.startswith("<?", lt):
            close = text.find("?>", lt + 2)
            if close < 0:
                raise _XmlError("unterminated processing instruction")
            pos = close + 2
        elif text.startswith("</", lt):
            close = text.find(">", lt)
            if close < 0:
                raise _XmlError("unterminated end tag")
            pos = close + 1
            if depth == 0:
                if text[lt + 2 : close].strip() != name:
                    raise _XmlError("mismatched end tag")
                return ("".join(pieces) if pieces else None), pos
            depth -= 1
        else:
            match = _START.match(text, lt)
            if match is None:
                raise _XmlError("bad start tag")
            pos = match.end()
            if not match.group(3):
                depth += 1


def parse_hook_fragment(text: str) -> tuple[str, str] | None:
    """``(text, hook_run_id)`` when ``text`` is one hook prompt fragment, else None."""
    body = text.strip(RUST_WHITESPACE)
    try:
        pos = _skip_misc(body, 0)
        match = _START.match(body, pos)
        if match is None or match.group(3):
            return None
        attrs: dict[str, str] = {}
        for attr in _ATTR.finditer(match.group(2)):
            value = attr.group(2) if attr.group(2) is not None else attr.group(3)
            attrs.setdefault(attr.group(1), _decode(value))
        run_id = attrs.get("hook_run_id")
        if run_id is None:
            return None
        content, _ = _element_text(body, match.end(), match.group(1))
    except (_XmlError, ValueError):
        return None
    if content is None or not run_id.strip(RUST_WHITESPACE):
        return None
    return content, run_id


def parse_hook_prompt(texts: list[str]) -> list[dict[str, str]] | None:
    """The fragments of a message whose content items are ``texts`` (None if not a hook)."""
    fragments: list[dict[str, str]] = []
    for text in texts:
        found = parse_hook_fragment(text)
        if found is None:
            return None
        fragments.append({"text": found[0], "hookRunId": found[1]})
    return fragments or None

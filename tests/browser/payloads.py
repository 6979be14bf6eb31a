"""XSS payloads: each one, if it ever ran or loaded, would call ``__xss(n)`` or request xss.test."""

from __future__ import annotations

PAYLOADS: tuple[str, ...] = (
    "<script>__xss(1)</script>",
    "<img src=x onerror=__xss(2)>",
    '<img src="http://xss.test/3">',
    "<svg onload=__xss(4)>",
    "<svg><script>__xss(5)</script></svg>",
    '<iframe src="javascript:__xss(6)"></iframe>',
    '<a href="javascript:__xss(7)">click me</a>',
    "javascript:__xss(8)",
    "<body onload=__xss(9)>",
    '<div style="background:url(http://xss.test/10)">css</div>',
    '<style>@import "http://xss.test/11";</style>',
    '<link rel=stylesheet href="http://xss.test/12">',
    '"><script>__xss(13)</script>',
    "'><img src=x onerror=__xss(14)>",
    "<details open ontoggle=__xss(15)>",
    "<input autofocus onfocus=__xss(16)>",
    "<video><source onerror=__xss(17)></video>",
    '<object data="http://xss.test/18"></object>',
    '<embed src="http://xss.test/19">',
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss(20)>",
    "red;background-image:url(http://xss.test/21)",
    "</style></pre></div><script>__xss(22)</script>",
    '<meta http-equiv="refresh" content="0;url=javascript:__xss(23)">',
    "{{constructor.constructor('__xss(24)')()}}",
    '<form action="javascript:__xss(25)"><button>go</button></form>',
    "data:text/html,<script>__xss(26)</script>",
    '<base href="http://xss.test/27/">',
    "<marquee onstart=__xss(28)>",
    "\u202e<script>__xss(29)</script>",
    '<noscript><p title="</noscript><img src=x onerror=__xss(30)>">',
    "${__xss(31)}",
    '<img srcset="http://xss.test/32 1x">',
)

INIT_SCRIPT = (
    "window.__xssHits = [];"
    " window.__xss = (n) => { window.__xssHits.push(String(n) + ' ' + new Error().stack); };"
)
"""Define the probe before any page script runs."""


def all_payloads(sep: str = "\n") -> str:
    """Every payload in one string."""
    return sep.join(PAYLOADS)

"""The XSS vectors of quality.md row S9 (issue 29): 200 strings that, were any page to treat them as markup,
a URL or script, would set `window.__xss` to their own number (1-200), so a test names the one that ran.

Written for the contexts a page can put user text in: element content, a quoted or unquoted attribute, a
URL, an inline script or JSON block, a style, a template engine's braces, and the script's own strings.
Every vector is at most 190 characters (a member's name or a unit's name holds 200).

A non-test module: the S9 tests import it, never each other.
"""

from __future__ import annotations

# `{js}` is replaced by `window.__xss=N`; `{n}` by N alone (for the vectors that cannot hold a `=`).
_BASE: list[str] = [
    # Script elements, as written and as browsers are lenient about.
    "<script>{js}</script>",
    "<SCRIPT>{js}</SCRIPT>",
    "<script >{js}</script >",
    "<script type=module>{js}</script>",
    "<script/x>{js}</script>",
    "<script\n>{js}</script\n>",
    "<scr<script>ipt>{js}</scr</script>ipt>",
    "<script src=data:text/javascript,{js}></script>",
    "<script src=//127.0.0.1/x.js></script><script>{js}</script>",
    "<<script>{js}//<</script>",
    # Event handlers on elements that fire by themselves.
    "<img src=x onerror={js}>",
    '<img src="x" onerror="{js}">',
    "<img src=x onerror='{js}'>",
    "<IMG SRC=x OnErRoR={js}>",
    "<img/src=x/onerror={js}>",
    "<img src=x onerror\n={js}>",
    "<svg onload={js}>",
    "<svg/onload={js}>",
    "<svg><script>{js}</script></svg>",
    "<svg><animate onbegin={js} attributeName=x dur=1s>",
    "<svg><set onbegin={js} attributeName=x to=1>",
    "<body onload={js}>",
    "<body onpageshow={js}>",
    "<iframe onload={js}></iframe>",
    "<iframe srcdoc='<script>parent.{js}</script>'></iframe>",
    '<iframe srcdoc="&lt;img src=x onerror=parent.{js}&gt;"></iframe>',
    "<iframe src=javascript:parent.{js}></iframe>",
    '<iframe src="data:text/html,<script>parent.{js}</script>"></iframe>',
    "<object data=javascript:{js}></object>",
    "<embed src=javascript:{js}>",
    "<input autofocus onfocus={js}>",
    "<select autofocus onfocus={js}></select>",
    "<textarea autofocus onfocus={js}></textarea>",
    "<details open ontoggle={js}>",
    "<video src=x onerror={js}></video>",
    "<audio src=x onerror={js}></audio>",
    "<video><source onerror={js}></video>",
    "<marquee onstart={js}>x</marquee>",
    "<div onmouseover={js} style=position:fixed;inset:0>x</div>",
    "<style onload={js}></style>",
    "<link rel=stylesheet href=x onerror={js}>",
    "<image src=x onerror={js}>",
    "<math><mtext><img src=x onerror={js}></mtext></math>",
    "<math href=javascript:{js}>x</math>",
    "<math><maction actiontype=statusline xlink:href=javascript:{js}>x</maction></math>",
    "<form><button formaction=javascript:{js}>x</button></form>",
    "<isindex action=javascript:{js} type=image>",
    '<object data="data:text/html,<script>parent.{js}</script>"></object>',
    '<meta http-equiv=refresh content="0;url=javascript:{js}">',
    "<base href=javascript:{js}//>",
    # javascript: URLs where a page might make a link of the text.
    "javascript:{js}",
    "JaVaScRiPt:{js}",
    " javascript:{js}",
    "java\tscript:{js}",
    "javascript&#58;{js}",
    "&#106;avascript:{js}",
    "<a href=javascript:{js}>x</a>",
    '<a href="jav&#x09;ascript:{js}">x</a>',
    "data:text/html,<script>{js}</script>",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
    "vbscript:msgbox({n})",
    # Breaking out of attributes and elements the text might sit in.
    '"><script>{js}</script>',
    "'><script>{js}</script>",
    '" onmouseover="{js}" x="',
    "' onfocus='{js}' autofocus x='",
    '" autofocus onfocus="{js}',
    "x onerror={js} ",
    '"><img src=x onerror={js}>',
    "'><svg onload={js}>",
    "`><img src=x onerror={js}>",
    "</title><script>{js}</script>",
    "</textarea><script>{js}</script>",
    "</style><script>{js}</script>",
    "</noscript><img src=x onerror={js}>",
    "</option></select><img src=x onerror={js}>",
    "--><script>{js}</script><!--",
    "]]><script>{js}</script>",
    '<!--<img src="--><img src=x onerror={js}//">',
    '<noscript><p title="</noscript><img src=x onerror={js}>">',
    '<xmp><p title="</xmp><img src=x onerror={js}>">',
    "<plaintext><img src=x onerror={js}>",
    # Breaking out of an inline script or a JSON block.
    "</script><script>{js}</script>",
    "</SCRIPT><img src=x onerror={js}>",
    "</script ><svg onload={js}>",
    "<!--<script>{js}</script>",
    '";{js};//',
    "';{js};//",
    '\\";{js};//',
    "\\u003cscript\\u003e{js}\\u003c/script\\u003e",
    '{{"a":"</script><script>{js}</script>"}}',
    "\u2028{js}\u2029",
    # Template engines: jinja2, Vue/Angular-style braces, JS template literals.
    "{{{{ {n}*7 }}}}",
    "{{{{ config }}}}",
    "{{% print({n}) %}}",
    "{{{{constructor.constructor('{js}')()}}}}",
    "${{{js}}}",
    "`${{{js}}}`",
    "#{{{js}}}",
    "<%= {js} %>",
    "{{{{ '<script>{js}</script>' | safe }}}}",
    "[[{js}]]",
    # Encodings and Unicode tricks.
    "&lt;script&gt;{js}&lt;/script&gt;",
    "&#60;script&#62;{js}&#60;/script&#62;",
    "%3Cscript%3E{js}%3C/script%3E",
    "\uff1cscript\uff1e{js}\uff1c/script\uff1e",
    "\u202e<script>{js}</script>\u202c",
    "\u202egnp.<img src=x onerror={js}>",
    "<scr\u200bipt>{js}</scr\u200bipt>",
    "<img src=x one\u00adrror={js}>",
    "\u0085<script>{js}</script>",
    "<script>{js}</script>\ufeff",
    "Nguyễn <b>Văn</b> Một<script>{js}</script>",
    "Chi bộ \u202eHTX<img src=x onerror={js}>",
    "\u00ab\u00bb<svg onload={js}>",
    "<img src=x onerror=&#119;indow.__xss&#61;{n}>",
    "<img src=x onerror=\\u0077indow.__xss={n}>",
    "<img src=x onerror=eval(atob('d2luZG93Ll9feHNzPTE='))>",
    "<img src=x onerror=eval(String.fromCharCode(49))||({js})>",
    # CSS.
    '<div style="width:expression({js})">x</div>',
    '<div style="background:url(javascript:{js})">x</div>',
    "<style>*{{background:url(javascript:{js})}}</style>",
    "<style>@import 'data:,*%7bx:expression({js})%7d';</style>",
    '<x style="behavior:url(#default#time2)" onbegin="{js}">',
    "<link rel=import href=data:text/html,<script>{js}</script>>",
    '<div style="x:\\65xpression({js})">x</div>',
    # DOM clobbering and markup that changes the page around it.
    "<form id=cm-messages><input name=x></form><img src=x onerror={js}>",
    "<a id=__xss href=javascript:{js}>x</a>",
    "<img name=getElementById src=x onerror={js}>",
    "<template><script>{js}</script></template>",
    "<svg><foreignObject><img src=x onerror={js}></foreignObject></svg>",
    "<svg><a xlink:href=javascript:{js}><text y=9>x</text></a></svg>",
    '<svg><use href="data:image/svg+xml,<svg id=x xmlns=%27http://www.w3.org/2000/svg%27>'
    '<image href=1 onerror={js} /></svg>#x"/>',
    "<keygen autofocus onfocus={js}>",
    "<frameset onload={js}>",
    "<table background=javascript:{js}>",
    "<bgsound src=javascript:{js}>",
    "<object type=text/x-scriptlet data=javascript:{js}></object>",
    "<applet code=javascript:{js}></applet>",
    "<div draggable=true ondragstart={js}>x</div>",
    "<dialog open onclose={js}><form method=dialog><button>x</button></form></dialog>",
    "<img srcset=x onerror={js}>",
    "<picture><source srcset=x><img src=x onerror={js}></picture>",
    "<input type=image src=x onerror={js}>",
    "<object onerror={js}>",
    "<svg><image href=x onerror={js} /></svg>",
    "<a href=# onclick={js} id=go>x</a><img src=x onerror=go.click()>",
]

# Contexts a vector is put in when the base list runs out: behind an attribute or element breakout.
_WRAPS = ['">{}', "'>{}", "</b>{}<b>", "{}<!--"]

COUNT = 200
MAX_LENGTH = 190


def _vectors() -> list[str]:
    made: list[str] = []
    wrap = 0
    while len(made) < COUNT:
        for base in _BASE:
            if len(made) == COUNT:
                break
            n = len(made) + 1
            text = base if wrap == 0 else _WRAPS[(n + wrap) % len(_WRAPS)].format(base)
            made.append(text.replace("{js}", f"window.__xss={n}").replace("{n}", str(n)))
        wrap += 1
    return made


# Formatted with str.format's doubled braces undone by hand: `{{`/`}}` in _BASE stand for one brace.
VECTORS: list[str] = [v.replace("{{", "{").replace("}}", "}") for v in _vectors()]

# The fast tier's share, spread over the whole list (every kind of vector is in it).
FAST: list[str] = VECTORS[:: COUNT // 40][:40]

assert len(VECTORS) == COUNT and len(set(VECTORS)) == COUNT
assert all(0 < len(v.strip()) and len(v) <= MAX_LENGTH for v in VECTORS), max(map(len, VECTORS))


def number(vector: str) -> int:
    """The number a vector sets `window.__xss` to (1-based place in VECTORS)."""
    return VECTORS.index(vector) + 1

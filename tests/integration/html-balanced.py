# html-balanced.py PAGE: exits 0 when every non-void tag of PAGE (decoy's
# HTML pages: inspect --html, the report) is closed in order, else fails
# with the tag that broke it.
import html.parser
import sys


class P(html.parser.HTMLParser):
    void = {"meta", "link", "br", "rect", "line", "path", "circle"}

    def __init__(self):
        super().__init__()
        self.stack = []

    def handle_starttag(self, tag, a):
        if tag not in self.void:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.void:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()


p = P()
p.feed(open(sys.argv[1]).read())
assert p.stack == [], p.stack

/* html: shared page parts for the report. See html.h. */
#include "report/html.h"
#include "judge/verdict.h"

#include <stdbool.h>
#include <string.h>

/* Green for what went as expected, red for what did not, blue for a fault that was
 * meant to trip its gate (expected, but not "fine"), amber for what could not be
 * judged. */
static const char style[] =
    ":root{--ok:#1e7b34;--bad:#b3261e;--exp:#1f5f99;--warn:#8a5a00;--muted:#5f6368;--line:#dadce0}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#f6f7f9;color:#202124;"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "main{max-width:1560px;margin:0 auto;padding:18px 28px 48px}\n"
    "h1{font-size:24px;margin:6px 0 2px}h2{font-size:19px;margin:30px 0 6px;padding-top:14px;"
    "border-top:1px solid var(--line)}h3{font-size:16px;margin:18px 0 6px}\n"
    "a{color:#1a56a8}a:hover{text-decoration:underline}\n"
    "nav{font-size:14px;margin-bottom:4px}\n"
    ".muted{color:var(--muted)}.small{font-size:13px}\n"
    ".banner{padding:12px 16px;border-radius:6px;font-weight:600;margin:14px 0;font-size:16px}\n"
    ".banner.ok{background:#e6f4ea;color:var(--ok);border:1px solid #b7dfc2}\n"
    ".banner.bad{background:#fce8e6;color:var(--bad);border:1px solid #f2b8b5}\n"
    ".banner ul{margin:6px 0 0;padding-left:22px;font-weight:400}\n"
    ".note{background:#fef7e0;border:1px solid #f3d98b;color:#5c4100;padding:10px 14px;border-radius:6px;"
    "margin:10px 0}\n"
    ".note.bad{background:#fce8e6;border-color:#f2b8b5;color:#8c1d18}\n"
    "table{border-collapse:collapse;background:#fff;margin:6px 0 14px;font-size:14px}\n"
    "th,td{border:1px solid var(--line);padding:5px 10px;text-align:left;vertical-align:top}\n"
    "th{background:#f1f3f4;font-weight:600;white-space:nowrap}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.when{white-space:nowrap}\n"
    ".tripped{margin:10px 0}.tripped ul{margin:4px 0 0 0}\n"
    "tr.bad td{background:#fff6f5}\n"
    "code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace;"
    "font-size:13px}\n"
    "pre{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px;overflow:auto}\n"
    ".pill{display:inline-block;padding:1px 9px;border-radius:10px;font-size:13px;font-weight:600;"
    "white-space:nowrap}\n"
    ".pill.ok{background:#e6f4ea;color:var(--ok)}.pill.bad{background:#fce8e6;color:var(--bad)}\n"
    ".pill.expected{background:#e8f0fe;color:var(--exp)}.pill.warn{background:#fef7e0;color:var(--warn)}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;background:#fff;"
    "border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:10px 0}\n"
    "dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}\n"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px;margin:8px 0}\n"
    "figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px}\n"
    "figure img{width:100%;height:auto;display:block}\n"
    "figcaption{font-size:13px;color:#3c4043;padding:4px 4px 2px}\n"
    ".cols{display:flex;flex-wrap:wrap;gap:10px 28px;align-items:flex-start}\n"
    "details summary{cursor:pointer;color:#1a56a8;margin:6px 0}\n"
    ".finding{background:#fff;border:1px solid var(--line);border-left:4px solid var(--bad);border-radius:6px;"
    "padding:8px 14px;margin:8px 0}\n"
    ".finding.ok{border-left-color:var(--ok)}.finding p{margin:4px 0}.finding pre{margin:6px 0 2px}\n"
    ".finding-head{font-size:16px;font-weight:600}.finding-head code{font-size:15px}\n"
    "footer{margin-top:36px;font-size:13px;color:var(--muted)}\n";

static void escape_char(FILE *f, unsigned char c, bool keep_tabs)
{
    switch (c) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(c < 0x20 && c != '\n' && !(keep_tabs && c == '\t') ? ' ' : c, f);
    }
}

void html_escape(FILE *f, const char *text)
{
    for (const char *s = text ? text : ""; *s; s++)
        escape_char(f, (unsigned char)*s, false);
}

void html_escape_pre(FILE *f, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        escape_char(f, (unsigned char)text[i], true);
}

void html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    html_escape(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", style);
}

void html_end(FILE *f, const char *footer)
{
    if (footer) {
        fputs("<footer>", f);
        html_escape(f, footer);
        fputs("</footer>\n", f);
    }
    fputs("</main>\n</body>\n</html>\n", f);
}

const char *html_outcome_class(const char *outcome)
{
    if (strcmp(outcome, VERDICT_WORD_HELD) == 0)
        return "ok";
    if (strcmp(outcome, VERDICT_WORD_TRIPPED_AS_EXPECTED) == 0)
        return "expected";
    if (strcmp(outcome, "not judged") == 0)
        return "warn";
    return "bad";
}

void html_pill(FILE *f, const char *css_class, const char *text)
{
    fprintf(f, "<span class=\"pill %s\">", css_class);
    html_escape(f, text);
    fputs("</span>", f);
}

/*  master/html.c - see html.h. */
#include "html.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "webui.h"

#define HTML_TEMPLATE "/report.html"
#define HTML_NAME_MAX 64

/*  The template's three kinds of placeholder. */
#define HTML_SCRIPT "<script src=\""
#define HTML_SCRIPT_END "\"></script>"
#define HTML_STYLE "<link rel=\"stylesheet\" href=\""
#define HTML_STYLE_END "\">"
#define HTML_DATA "<script type=\"application/json\" id=\"hornet-data\">"
#define HTML_DATA_END "</script>"

typedef struct {
    FILE *out;
    int errno_at_fail; /* 0 until a write fails */
} html_out_t;

/*  Writes n bytes; after a failure, writes nothing more. */
static void s_put(html_out_t *o, const void *p, size_t n)
{
    if (o->errno_at_fail || !n)
        return;
    errno = 0;
    if (fwrite(p, 1, n, o->out) != n)
        o->errno_at_fail = errno ? errno : EIO;
}

static void s_puts(html_out_t *o, const char *s)
{
    s_put(o, s, strlen(s));
}

/*  Whether data[0..len) holds needle, ignoring ASCII case. */
static bool s_has(const unsigned char *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (!strncasecmp((const char *)data + i, needle, n))
            return true;
    return false;
}

/*  The summary with "</" and "<!--" made harmless inside a script element:
 *  '<' occurs only inside JSON strings, where "\/" and "\u0021" are
 *  escapes of '/' and '!'. */
static void s_put_json(html_out_t *o, const char *json, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (json[i] != '<')
            continue;
        if (i + 1 < len && json[i + 1] == '/') {
            s_put(o, json + run, i + 1 - run);
            s_puts(o, "\\");
            run = i + 1;
        } else if (i + 3 < len && !memcmp(json + i + 1, "!--", 3)) {
            s_put(o, json + run, i + 1 - run);
            s_puts(o, "\\u0021");
            run = i + 2;
        }
    }
    s_put(o, json + run, len - run);
}

/*  The embedded file named by the placeholder at p (its name runs to the
 *  next '"'), with *end set past the placeholder's closing text. */
static const webui_file_t *s_asset(const char *p, const char *close,
                                   const char **end, char *err)
{
    size_t n = strcspn(p, "\"\n");
    if (n == 0 || n > HTML_NAME_MAX || p[n] != '"' ||
        strncmp(p + n, close, strlen(close))) {
        snprintf(err, HN_ERRLEN,
                 "report template: bad placeholder near \"%.40s\"", p);
        return NULL;
    }
    char path[HTML_NAME_MAX + 2];
    snprintf(path, sizeof path, "/%.*s", (int)n, p);
    const webui_file_t *f = webui_find(path);
    if (!f) {
        snprintf(err, HN_ERRLEN,
                 "report template: %s is not embedded (Makefile WEBUI)",
                 path + 1);
        return NULL;
    }
    *end = p + n + strlen(close);
    return f;
}

hn_err_t html_write_report(const char *summary_json, size_t len, FILE *out,
                           char *err)
{
    json_error_t jerr;
    json_t *root = summary_json ? json_loadb(summary_json, len, 0, &jerr)
                                : NULL;
    if (!root || !json_is_object(root)) {
        if (!root && summary_json)
            snprintf(err, HN_ERRLEN, "run summary: line %d, column %d: %s",
                     jerr.line, jerr.column, jerr.text);
        else
            snprintf(err, HN_ERRLEN, "run summary: not a JSON object");
        json_decref(root);
        return HN_ERR_INVALID;
    }
    json_decref(root);
    const webui_file_t *tpl = webui_find(HTML_TEMPLATE);
    if (!tpl) {
        snprintf(err, HN_ERRLEN,
                 "report template %s is not embedded (Makefile WEBUI)",
                 HTML_TEMPLATE + 1);
        return HN_ERR_NOT_FOUND;
    }
    html_out_t o = {.out = out};
    const char *p = (const char *)tpl->data, *run = p;
    int data_seen = 0;
    for (p = strchr(p, '<'); p; p = strchr(p, '<')) {
        const char *end = NULL;
        const webui_file_t *f = NULL;
        bool script = !strncmp(p, HTML_SCRIPT, strlen(HTML_SCRIPT));
        bool style = !strncmp(p, HTML_STYLE, strlen(HTML_STYLE));
        if (script || style) {
            f = script ? s_asset(p + strlen(HTML_SCRIPT), HTML_SCRIPT_END, &end,
                                 err)
                       : s_asset(p + strlen(HTML_STYLE), HTML_STYLE_END, &end,
                                 err);
            if (!f)
                return HN_ERR_NOT_FOUND;
            /*  Inline text may not end its element early. */
            if (s_has(f->data, f->len, script ? "</script" : "</style") ||
                s_has(f->data, f->len, "<!--")) {
                snprintf(err, HN_ERRLEN,
                         "%s holds \"%s\" or \"<!--\": it cannot be inlined",
                         f->path + 1, script ? "</script" : "</style");
                return HN_ERR_CORRUPT;
            }
            s_put(&o, run, (size_t)(p - run));
            s_puts(&o, script ? "<script>\n" : "<style>\n");
            s_put(&o, f->data, f->len);
            s_puts(&o, script ? "\n</script>" : "\n</style>");
            p = run = end;
        } else if (!strncmp(p, HTML_DATA HTML_DATA_END,
                            strlen(HTML_DATA HTML_DATA_END))) {
            s_put(&o, run, (size_t)(p - run));
            s_puts(&o, HTML_DATA "\n");
            s_put_json(&o, summary_json, len);
            s_puts(&o, "\n" HTML_DATA_END);
            p = run = p + strlen(HTML_DATA HTML_DATA_END);
            data_seen++;
        } else {
            p++;
        }
    }
    if (data_seen != 1) {
        snprintf(err, HN_ERRLEN,
                 "report template: %d places for the run summary, not one",
                 data_seen);
        return HN_ERR_CORRUPT;
    }
    s_puts(&o, run);
    errno = 0;
    if (!o.errno_at_fail && fflush(out))
        o.errno_at_fail = errno ? errno : EIO;
    if (!o.errno_at_fail && ferror(out))
        o.errno_at_fail = EIO;
    if (o.errno_at_fail) {
        snprintf(err, HN_ERRLEN, "writing the HTML report: %s",
                 strerror(o.errno_at_fail));
        return HN_ERR_IO;
    }
    return HN_OK;
}

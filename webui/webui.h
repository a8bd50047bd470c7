#ifndef HN_WEBUI_H
#define HN_WEBUI_H
#include <stddef.h>
typedef struct {
    const char *path;          /* "/index.html", "/app.js", "/style.css" */
    const char *content_type;  /* "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} webui_file_t;
/* The embedded file served at path ("/" means "/index.html"), or NULL.
 * A query string ("/app.js?v=2") is ignored; path NULL gives NULL.
 * The file and its data are static (never freed); data[len] is 0. */
const webui_file_t *webui_find(const char *path);
#endif

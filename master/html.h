/*  master/html.h - the HTML report: one self-contained file.
 *
 *  The page is the embedded template webui/report.html with each of its
 *  <script src="F"></script> and <link rel="stylesheet" href="F"> replaced
 *  by the embedded file F inline (uPlot's JS and CSS, charts.js, report.js,
 *  the styles), and the run summary inside
 *  <script type="application/json" id="hornet-data">. It loads nothing from
 *  anywhere (its Content-Security-Policy forbids it), so it opens offline.
 */
#ifndef HN_HTML_H
#define HN_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

/*  Writes the report of the run summary summary_json (len bytes, need not
 *  end in a NUL: the JSON that --out DIR/summary.json holds) to out, then
 *  flushes out; out stays open and the caller's.
 *
 *  The JSON goes in as given, except that "</" becomes "<\/" and "<!--"
 *  becomes "<\u0021--" (equal JSON), so no value can end the script element.
 *  Returns HN_OK, or with a message in err (HN_ERRLEN bytes):
 *  HN_ERR_INVALID  the summary is not a JSON object (err: line, column);
 *  HN_ERR_IO       writing failed (err: "writing the HTML report: ...");
 *  HN_ERR_NOT_FOUND, HN_ERR_CORRUPT  the embedded template or a file it
 *                  names is missing or cannot be inlined (a build fault).
 *  After an error out may hold part of a page. */
hn_err_t html_write_report(const char *summary_json, size_t len, FILE *out,
                           char *err) HN_WUR;

#endif

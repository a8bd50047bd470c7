/*  common/hlog.h - HdrHistogram interval log (.hlog) writer.
 *
 *  Writes the text format of HdrHistogram's HistogramLogWriter (log format
 *  version 1.3), which HdrHistogram's readers (Java HistogramLogReader,
 *  HdrHistogram_c hdr_log_read, npm hdr-histogram-js HistogramLogReader)
 *  and HistogramLogProcessor read:
 *
 *      #[Histogram log format version 1.3]
 *      #[StartTime: 1700000000.123 (seconds since epoch), Tue Nov 14 ...]
 *      #[BaseTime: 1700000000.123 (seconds since epoch)]
 *      "StartTimestamp","Interval_Length","Interval_Max",
 *          "Interval_Compressed_Histogram"        (one line in the file)
 *      [Tag=NAME,]START,LENGTH,MAX,HISTF...base64...
 *
 *  Each histogram is HdrHistogram's V2 compressed encoding (cookie
 *  0x1c849314, i.e. base 0x1c849304 with the word-size bits 0x10; a zlib
 *  stream of the V2 encoding, cookie 0x1c849313, with ZigZag LEB128-64b9B
 *  counts and runs of zeros as negative words), in base64, as
 *  encodeIntoCompressedByteBuffer makes it.
 *
 *  Layout. hist_t is exactly an HdrHistogram with lowestDiscernibleValue
 *  1, highestTrackableValue HIST_MAX_US (2^32) and 3 significant digits:
 *  unitMagnitude 0, subBucketCount 2048, 23 buckets, 24576 counts. Both
 *  index a value v as bucket floor(log2(v | 2047)) - 10, sub-bucket
 *  v >> bucket, slot (bucket << 10) + sub, so every hornet slot IS one
 *  HdrHistogram slot and counts are copied one to one, never merged or
 *  split (tests/unit/test_hlog.c checks every slot's both edges).
 *
 *  Units. Recorded values are microseconds (integerToDoubleValueConversion
 *  Ratio 1.0). Interval_Max is in milliseconds (max_us / 1000, HdrHistogram
 *  logs' usual "max in ms"; with 3 decimals it is the exact max in us).
 *  It is hornet's exact max, where Java would write the top of the max's
 *  bucket. HistogramLogProcessor assumes nanoseconds by default: give it
 *  -outputValueUnitRatio 1000 for milliseconds. (Nanosecond values would
 *  not map exactly: 1000 is not a power of two.) Timestamps are seconds;
 *  interval starts are relative to the BaseTime line, as jHiccup writes.
 *
 *  Percentiles. An HdrHistogram reader (Java, JS: rank = ceil(p% of n))
 *  gets from a line exactly hist_percentile's answer, except that hornet
 *  caps it at the exact max: where the p-th sample lies in the max's slot
 *  (and max >= 2048 us) HdrHistogram reports that slot's top, up to 0.1%
 *  more. min(value, Interval_Max) gives hornet's number back.
 *  HdrHistogram_c ranks with round(p% of n) instead of ceil. Not carried:
 *  hist_mean's exact sum, the exact min (HdrHistogram reports its slot's
 *  bottom) and hist_clamped (clamped values are counts at 2^32).
 *
 *  Lines are written with stdio into the caller's FILE (buffered: the
 *  caller checks fflush/fclose for a full disk). Numbers use the C locale
 *  ('.' as decimal point); hornet never calls setlocale.
 */
#ifndef HN_HLOG_H
#define HN_HLOG_H

#include <stdio.h>

#include "buf.h"
#include "err.h"
#include "hist.h"

#define HLOG_FORMAT_VERSION "1.3"
#define HLOG_LOWEST_DISCERNIBLE 1 /* us */
#define HLOG_HIGHEST_TRACKABLE HIST_MAX_US
#define HLOG_SIGNIFICANT_DIGITS 3
#define HLOG_MAX_UNIT_RATIO 1000 /* Interval_Max = max_us / this (ms) */

/*  Writes one comment line "#TEXT\n", e.g. "[Logged with hornet 0.1.0]"
 *  (write it before hlog_write_header, as jHiccup does). Returns HN_OK,
 *  HN_ERR_INVALID when text holds a line break, or HN_ERR_IO; err
 *  (HN_ERRLEN bytes, may be NULL) gets the message. */
hn_err_t hlog_write_comment(FILE *f, const char *text, char *err) HN_WUR;

/*  Writes the version, StartTime and BaseTime lines (both start_unix_s,
 *  seconds since the epoch; the date is shown in UTC) and the legend.
 *  Returns HN_OK, HN_ERR_INVALID (start_unix_s negative or not finite) or
 *  HN_ERR_IO, with the message in err (HN_ERRLEN, may be NULL). */
hn_err_t hlog_write_header(FILE *f, double start_unix_s, char *err) HN_WUR;

/*  Writes one interval line for h: "Tag=TAG," when tag is not NULL, the
 *  start (seconds after BaseTime), the length (seconds), the max in ms and
 *  the base64 V2 compressed histogram. A tag must be non-empty and hold no
 *  ',', space, tab, CR or LF (hlog_tag_escape makes one from any name).
 *  Returns HN_OK, HN_ERR_INVALID (bad tag, times negative or not finite),
 *  HN_ERR_NOMEM, HN_ERR_RANGE (a count above INT64_MAX) or HN_ERR_IO, with
 *  the message in err (HN_ERRLEN, may be NULL). Allocates and frees its
 *  scratch memory on each call (a few KB; about 2 MB when all 24576
 *  slots are filled). */
hn_err_t hlog_write_interval(FILE *f, const char *tag, double start_s,
                             double length_s, const hist_t *h,
                             char *err) HN_WUR;

/*  Appends to out the base64 text of h's V2 compressed encoding (what an
 *  interval line carries, starting "HISTF"), NUL-terminated by buf_t.
 *  Returns HN_OK, HN_ERR_NOMEM, HN_ERR_RANGE, HN_ERR_CORRUPT (hist_encode
 *  gave a layout this file does not know: hist.c changed) or the error of
 *  buf_append (out is then empty). */
hn_err_t hlog_encode_base64(const hist_t *h, buf_t *out) HN_WUR;

/*  Appends to out a tag made from name (an endpoint like "GET /a,b"):
 *  bytes that may not stand in a tag, and '%', become %XX (upper-case
 *  hex), so "GET /a,b" gives "GET%20/a%2Cb" and the name can be restored.
 *  Returns HN_OK, HN_ERR_INVALID for an empty name, or the error of
 *  buf_append (out is then empty). */
hn_err_t hlog_tag_escape(const char *name, buf_t *out) HN_WUR;

#endif

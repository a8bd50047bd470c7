/*  tests/style/bad_format.c - a check-style.sh --self-test fixture.
 *  Laid out against .clang-format: two-space indent, the function brace
 *  at the end of its line. */
/* expect: format */
int bad_format(int a) {
  if (a > 0)
      return 1;
  return 0;
}

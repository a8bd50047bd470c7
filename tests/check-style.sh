#!/usr/bin/env bash
# STYLE.md rule 14: banned functions and assignment inside conditions.
# Prints each offence as FILE:LINE and exits 1 if there is any.
cd "$(dirname "$0")/.." || exit 1
files=$(ls common/*.[ch] proto/*.[ch] worker/*.[ch] master/*.[ch] 2>/dev/null)
bad=0
if grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(' $files; then
  echo "style: banned function (use snprintf, memcpy, strtoull, ...)"; bad=1
fi
# `if (x = f())` style: an assignment directly inside if/while parentheses.
if grep -nE '\b(if|while)\s*\(\s*\(?[A-Za-z_][A-Za-z0-9_>.-]*\s=[^=]' $files; then
  echo "style: assignment inside a condition"; bad=1
fi
exit $bad

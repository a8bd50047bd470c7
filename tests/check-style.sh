#!/usr/bin/env bash
# STYLE.md rule 14, checked by tools, over every .c and .h file in common/
# proto/ worker/ master/ cli/ tests/unit/ tests/target/ and bench/:
#   format  clang-format, with the committed .clang-format, changes nothing;
#   banned  no sprintf vsprintf strcpy strcat strtok atoi atol gets;
#   assign  no assignment inside an if or while condition, at any depth:
#           if (x = f()), if ((x = f())), if (!(x = f())), while ((x = f())),
#           a && (x = f()), a || (x = f()), (n -= 1) > 0, ... (==, !=, <=
#           and >= are comparisons, `=` inside { } is an initialiser).
# banned and assign ignore comments, strings and character literals.
# Prints each offence as FILE:LINE: what, and exits 1 if there is any; exits
# 2 when the check cannot run (no clang-format, no .clang-format, no files).
#
#   bash tests/check-style.sh              self-test, then check the tree
#   bash tests/check-style.sh --self-test  run the rules on tests/style/ only
#   CLANG_FORMAT=clang-format-14 bash tests/check-style.sh
#
# tests/style/ fixtures: good_*.c must give no finding under any rule and
# bad_*.c at least one. A line ending in /* expect: banned */ or
# /* expect: assign */ must be flagged by that rule, and no other line may
# be; a file holding /* expect: format */ must fail clang-format, and no
# other file may.
# shellcheck disable=SC2317  # the rule_* functions are called as "rule_$rule"
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

DIRS=(common proto worker master cli tests/unit tests/target bench)
CF=${CLANG_FORMAT:-clang-format}
STYLE_FILE=$PWD/.clang-format

# ---- the rules: each prints "FILE:LINE: what" per offence -----------------

# One line per file clang-format would change: its first place and count.
rule_format() {
  local out rc
  out=$("$CF" --dry-run -Werror --style="file:$STYLE_FILE" "$@" 2>&1); rc=$?
  ((rc == 0)) && return 0
  local found
  found=$(grep -E '^.+:[0-9]+:[0-9]+: error: code should be clang-formatted' <<<"$out" |
    awk -F: '{ if (!($1 in n)) { order[++k] = $1; first[$1] = $2 } n[$1]++ }
      END { for (i = 1; i <= k; i++) { f = order[i]
        printf "%s:%s: not clang-formatted (%d place%s; clang-format -i %s)\n",
               f, first[f], n[f], n[f] == 1 ? "" : "s", f } }')
  if [[ -z $found ]]; then
    echo "style: clang-format failed (exit $rc):" >&2
    echo "$out" | head -20 >&2
    return 2
  fi
  echo "$found"
}

# banned and assign, on the source with comments and literals blanked out.
read -r -d '' PERL_RULES <<'PERL'
use strict;
use warnings;
my $rule = shift @ARGV;
my %instead = (sprintf => 'snprintf', vsprintf => 'vsnprintf',
               strcpy => 'memcpy or snprintf', strcat => 'buf_t or snprintf',
               strtok => 'strtok_r', atoi => 'strtol or util_parse_u64',
               atol => 'strtol or util_parse_u64', gets => 'fgets');
sub blank { (my $t = shift) =~ s/[^\n]/ /g; $t }
for my $file (@ARGV) {
    open(my $fh, '<', $file) or die "style: cannot read $file: $!\n";
    my $s = do { local $/; <$fh> };
    close $fh;
    # Leftmost match first, so a quote in a comment or a comment opener in
    # a string is not mistaken; newlines are kept, so line numbers hold.
    $s =~ s{(/\*.*?\*/|//[^\n]*)|("(?:\\.|[^"\\\n])*")|('(?:\\.|[^'\\\n])*')}
           {defined $1 ? blank($1)
            : defined $2 ? '"' . blank(substr($2, 1, -1)) . '"'
            : "'" . blank(substr($3, 1, -1)) . "'"}gse;
    my %seen;
    my $report = sub {
        my ($pos, $what) = @_;
        my $line = 1 + (substr($s, 0, $pos) =~ tr/\n//);
        print "$file:$line: $what\n" unless $seen{$line}++;
    };
    if ($rule eq 'banned') {
        # a call, not a struct member (io->gets(...), o.atoi(...))
        while ($s =~ /(?<![.>\w])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)\s*\(/g) {
            $report->($-[1], "banned function $1() (use $instead{$1})");
        }
    } elsif ($rule eq 'assign') {
        # From each `if (` or `while (` to its closing parenthesis.
        while ($s =~ /\b(?:if|while)\s*\(/g) {
            my ($i, $paren, $brace, $n) = (pos($s), 1, 0, length $s);
            while ($i < $n && $paren > 0) {
                my $c = substr($s, $i, 1);
                my $op = substr($s, $i, 3) =~ /^(<<=|>>=)/ ? $1
                       : substr($s, $i, 2) =~ /^(==|!=|<=|>=|<<|>>|[-+*\/%&|^]=)/ ? $1
                       : $c;
                if ($op eq '(') { $paren++ }
                elsif ($op eq ')') { $paren-- }
                elsif ($op eq '{') { $brace++ }
                elsif ($op eq '}') { $brace-- }
                elsif ($op =~ /^(?:=|<<=|>>=|[-+*\/%&|^]=)$/ && $brace <= 0) {
                    $report->($i, "assignment inside a condition (assign first,"
                                  . " then test)");
                }
                $i += length $op;
            }
        }
    } else {
        die "style: unknown rule $rule\n";
    }
}
PERL

rule_banned() { perl -e "$PERL_RULES" banned "$@"; }
rule_assign() { perl -e "$PERL_RULES" assign "$@"; }

RULES=(format banned assign)

# ---- set-up ----------------------------------------------------------------

require_tools() {
  if ! command -v "$CF" >/dev/null 2>&1; then
    echo "style: $CF not found: the layout cannot be checked." >&2
    echo "style: install it (Debian: apt-get install clang-format, which" \
         "deploy/install-deps.sh does) or set CLANG_FORMAT." >&2
    exit 2
  fi
  if [[ ! -f $STYLE_FILE ]]; then
    echo "style: $STYLE_FILE is missing: the layout cannot be checked." >&2
    exit 2
  fi
  if ! command -v perl >/dev/null 2>&1; then
    echo "style: perl not found (Debian's perl-base has it)." >&2
    exit 2
  fi
  local v
  v=$("$CF" --version 2>/dev/null | grep -oE 'version [0-9]+' | grep -oE '[0-9]+')
  if [[ $v != 14 ]]; then
    echo "style: warning: $CF is version ${v:-unknown}; .clang-format is set" \
         "up for clang-format 14 (Debian 12), others may lay code out otherwise." >&2
  fi
}

# The .c and .h files under those of the given directories that exist.
list_files() {
  local d
  for d in "$@"; do
    if [[ -d $d ]]; then
      find "$d" -type f \( -name '*.c' -o -name '*.h' \) -print
    fi
  done | LC_ALL=C sort
}

# ---- self-test on tests/style/ ---------------------------------------------

# Prints what went wrong, if anything, and returns 1 then (2 when a rule
# could not run).
self_test() {
  local verbose=$1 fail=0 rule f out lines want got
  local -a fx
  mapfile -t fx < <(list_files tests/style)
  if ((${#fx[@]} == 0)); then
    echo "self-test: no fixtures in tests/style/"
    return 1
  fi
  declare -A flagged=()
  for rule in "${RULES[@]}"; do
    out=$("rule_$rule" "${fx[@]}")
    (($? > 1)) && return 2
    for f in "${fx[@]}"; do
      lines=$(awk -F: -v f="$f" '$1 == f { print $2 }' <<<"$out" | sort -n | uniq | tr '\n' ' ')
      [[ -n $lines ]] && flagged[$f]=1
      if [[ $rule == format ]]; then
        if grep -qF '/* expect: format */' "$f"; then want=yes; else want=no; fi
        if [[ -n $lines ]]; then got=yes; else got=no; fi
        if [[ $want != "$got" ]]; then
          echo "self-test: $f: format: expected flagged=$want, got $got"
          fail=1
        fi
        continue
      fi
      want=$(grep -nF "/* expect: $rule */" "$f" | cut -d: -f1 | tr '\n' ' ')
      if [[ $want != "$lines" ]]; then
        echo "self-test: $f: $rule: expected lines [${want% }], got [${lines% }]"
        fail=1
      fi
    done
  done
  local good=0 bad=0
  for f in "${fx[@]}"; do
    case $(basename "$f") in
      good_*) good=$((good + 1))
              [[ -n ${flagged[$f]:-} ]] && { echo "self-test: $f: good fixture flagged"; fail=1; } ;;
      bad_*)  bad=$((bad + 1))
              [[ -z ${flagged[$f]:-} ]] && { echo "self-test: $f: bad fixture not flagged"; fail=1; } ;;
    esac
  done
  for rule in "${RULES[@]}"; do
    if ! grep -qF "/* expect: $rule */" "${fx[@]}"; then
      echo "self-test: no fixture expects a $rule finding"
      fail=1
    fi
  done
  if ((good == 0 || bad == 0)); then
    echo "self-test: need both good_*.c and bad_*.c fixtures"
    fail=1
  fi
  if ((fail == 0)) && [[ $verbose == 1 ]]; then
    echo "self-test: ${#fx[@]} fixtures ($good good, $bad bad), rules ${RULES[*]}: OK"
  fi
  return $fail
}

# ---- main ------------------------------------------------------------------

require_tools
case ${1:-} in
  --self-test)
    self_test 1
    exit $?
    ;;
  '') ;;
  *)
    echo "usage: bash tests/check-style.sh [--self-test]" >&2
    exit 2
    ;;
esac

self_test 0
case $? in
  0) ;;
  2) exit 2 ;;
  *) echo "style: the checker's own self-test failed (tests/style/); fix that first"
     exit 1 ;;
esac

mapfile -t files < <(list_files "${DIRS[@]}")
if ((${#files[@]} == 0)); then
  echo "style: no .c or .h files under ${DIRS[*]}" >&2
  exit 2
fi

bad=0
for rule in "${RULES[@]}"; do
  out=$("rule_$rule" "${files[@]}"); rc=$?
  ((rc > 1)) && exit 2
  [[ -z $out ]] && continue
  echo "$out"
  case $rule in
    format) echo "style: layout differs from .clang-format (fix: clang-format -i FILE)" ;;
    banned) echo "style: banned function (use snprintf, memcpy, strtol, ...)" ;;
    assign) echo "style: assignment inside a condition" ;;
  esac
  bad=1
done
((bad)) || echo "style: ${#files[@]} files OK (${RULES[*]})"
exit $bad

#!/usr/bin/env bash
# Mutation check (issue 17): do the tests notice when the wire and term
# code is wrong? Each mutant below is a small, deliberate bug applied to a
# COPY of the tree, built, and run against the tests that should catch it.
#
#   bash tests/mutation/run.sh            # every mutant
#   bash tests/mutation/run.sh 3 7        # only mutants 3 and 7
#   bash tests/mutation/run.sh --list     # the table, nothing built
#
# Prints one line per mutant: `killed` (with the tests that failed, and
# those that did not) or `survived`; exits 1 if any survived, 2 if the run
# itself is broken (a mutant that does not apply exactly once, a build
# that fails, a test that fails or is missing on the unmutated tree).
# By hand, not in CI: about 10-15 minutes on 2 cores.
#
# Environment:
#   NODUS_MUT_SOURCE=worktree (default: the working tree as it is, with
#                    uncommitted edits) | head (git archive HEAD)
#   NODUS_MUT_JOBS=2          build parallelism
#   NODUS_MUT_KEEP=1          keep the temp dir (tree, build, logs)
#
# Method: one copy, configured once (Release); first the unmutated build
# runs the union of every selected mutant's tests (the baseline: all must
# pass, or no verdict means anything); then for each mutant its files are
# restored from the pristine copy, its substitutions applied (each must
# match exactly once), only the needed targets rebuilt, and its tests run
# with NODUS_REQUIRE_ALL=1 (a skip is a failure, never a pass). Any failed
# test kills the mutant; all passing means it survived.
#
# To add a mutant: one `mutant` line below -- id, description, the test
# names (ctest names, space separated) expected to kill it, then one or
# more FILE 'PERL' pairs, PERL being an s///g substitution run with
# perl -0777 (the whole file is one string) that must match exactly once.
# Add to TARGETS any binary its tests need. Prefer mutations that compile;
# one that may not must say so with `build_kills ID`.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
JOBS=${NODUS_MUT_JOBS:-2}
SOURCE=${NODUS_MUT_SOURCE:-worktree}

# ---- the mutants ----------------------------------------------------------

IDS=() DESC=() TESTS=() NSUBS=() SUB_FILE=() SUB_EXPR=() SUB_OF=()
declare -A BUILD_KILLS=()
mutant() { # mutant ID DESC TESTS FILE PERL [FILE PERL]...
  local id=$1
  IDS+=("$id")
  DESC[$id]=$2
  TESTS[$id]=$3
  shift 3
  NSUBS[$id]=0
  while [ $# -ge 2 ]; do
    SUB_OF+=("$id")
    SUB_FILE+=("$1")
    SUB_EXPR+=("$2")
    NSUBS[$id]=$((NSUBS[$id] + 1))
    shift 2
  done
}
build_kills() { BUILD_KILLS[$1]=1; }

FLOAT_TESTS="test_etf interop_test_etf_conformance interop_test_dist_beam_to_c interop_test_dist_c_to_beam"
ENC_FLOAT='s/p = put32\(p, \(uint32_t\)\(u >> 32\)\);\n(\s*)return put32\(p, \(uint32_t\)u\);/p = put32(p, (uint32_t)u);\n$1return put32(p, (uint32_t)(u >> 32));/g'
DEC_FLOAT='s/uint64_t u = rd64\(d->p\);/uint64_t u = (uint64_t)rd32(d->p + 4) << 32 | rd32(d->p);/g'

mutant 1 "NEW_FLOAT_EXT halves swapped in the encoder only" "$FLOAT_TESTS" \
  src/term/etf_encode.c "$ENC_FLOAT"
mutant 2 "NEW_FLOAT_EXT halves swapped in the decoder only" "$FLOAT_TESTS" \
  src/term/etf_decode.c "$DEC_FLOAT"
mutant 3 "NEW_FLOAT_EXT halves swapped in encoder AND decoder (symmetric)" "$FLOAT_TESTS" \
  src/term/etf_encode.c "$ENC_FLOAT" src/term/etf_decode.c "$DEC_FLOAT"
mutant 4 "nodus_copy drops the last element of tuples of arity > 2 (dist_node's echo copies)" \
  "interop_test_dist_beam_to_c interop_test_dist_c_to_beam" \
  src/term/term.c 's/(\n(\s*)dst->v\.items = term_items_alloc\(item_slots\(src\)\);\n)/$1$2if (src->type == NODUS_T_TUPLE \&\& dst->n > 2) dst->n--;\n/g'
mutant 5 "SMALL_BIG/LARGE_BIG: encoder writes a SMALL_BIG byte count one short" \
  "test_etf interop_test_etf_conformance interop_test_dist_beam_to_c" \
  src/term/etf_encode.c 's/\*p\+\+ = \(uint8_t\)b->len;/*p++ = (uint8_t)(b->len - 1);/g'
mutant 6 "handshake: DFLAG_UTF8_ATOMS cleared from the flags a nodus node offers" \
  "test_handshake interop_test_handshake interop_test_dist_beam_to_c" \
  src/distribution/dist_flags.h 's/(#define NODUS_DFLAGS_DEFAULT\s*\\\n\s*)\(DFLAG_MANDATORY_26 \|/$1((DFLAG_MANDATORY_26 \& ~DFLAG_UTF8_ATOMS) |/g'
mutant 7 "control ops: CTL_LINK and CTL_UNLINK numbers swapped (1 <-> 4)" \
  "interop_test_dist_beam_to_c interop_test_dist_c_to_beam" \
  src/distribution/control.h 's/CTL_LINK = 1,(.*?)CTL_UNLINK = 4,/CTL_LINK = 4,$1CTL_UNLINK = 1,/gs'
mutant 8 "pg: a remote {leave, ...} adds the pids to the group instead of removing them" \
  "test_pg interop_test_pg_mixed" \
  src/cluster/pg/scope.c 's/pg_rows_remove\(pg, group, gone\.items, gone\.len, false\);/pg_rows_add(pg, group, gone.items, gone.len, false);/g'

# What the tests above run: the unit test binaries and the interop helpers.
TARGETS="test_etf test_handshake test_pg etf_conformance dist_node hs_probe pg_node"

# ---- arguments --------------------------------------------------------------

list_only=0
SELECTED=()
for a in "$@"; do
  case $a in
    --list) list_only=1 ;;
    -h | --help) sed -n '2,36p' "$0"; exit 0 ;;
    *)
      [ -n "${DESC[$a]+x}" ] || { echo "no mutant $a (have: ${IDS[*]})" >&2; exit 2; }
      SELECTED+=("$a") ;;
  esac
done
[ ${#SELECTED[@]} -eq 0 ] && SELECTED=("${IDS[@]}")

if [ $list_only = 1 ]; then
  for id in "${SELECTED[@]}"; do
    echo "M$id  ${DESC[$id]}"
    echo "    tests: ${TESTS[$id]}"
    for i in "${!SUB_OF[@]}"; do
      [ "${SUB_OF[$i]}" = "$id" ] && echo "    ${SUB_FILE[$i]}: ${SUB_EXPR[$i]}"
    done
  done
  exit 0
fi

# ---- the copy ---------------------------------------------------------------

TMP=$(mktemp -d /tmp/nodus-mut.XXXXXX)
cleanup() {
  if [ "${NODUS_MUT_KEEP:-0}" = 1 ]; then
    echo "kept: $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
TREE=$TMP/tree BUILD=$TMP/build ORIG=$TMP/orig LOGS=$TMP/logs
mkdir -p "$TREE" "$ORIG" "$LOGS"
export NODUS_REQUIRE_ALL=1

T0=$SECONDS
case $SOURCE in
  worktree) # the working tree as it is, without .git and build dirs
    tar -C "$ROOT" --exclude=./.git --exclude='./build*' -cf - . | tar -C "$TREE" -xf - ;;
  head) git -C "$ROOT" archive HEAD | tar -C "$TREE" -xf - ;;
  *) echo "NODUS_MUT_SOURCE: worktree or head" >&2; exit 2 ;;
esac
echo "mutation check: $SOURCE of $ROOT ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)), ${#SELECTED[@]} mutants"

# The pristine copy of every file a mutant touches, to restore from.
for i in "${!SUB_FILE[@]}"; do
  f=${SUB_FILE[$i]}
  [ -f "$TREE/$f" ] || { echo "mutant ${SUB_OF[$i]}: no file $f" >&2; exit 2; }
  mkdir -p "$ORIG/$(dirname "$f")"
  cp "$TREE/$f" "$ORIG/$f"
done
# Every selected mutant must apply, exactly once, before anything is built.
count_matches() { # FILE PERL -> how many substitutions PERL makes in FILE
  perl -0777 -ne '$n = ('"$2"'); print $n || 0' "$1"
}
bad=0
for id in "${SELECTED[@]}"; do
  for i in "${!SUB_OF[@]}"; do
    [ "${SUB_OF[$i]}" = "$id" ] || continue
    n=$(count_matches "$ORIG/${SUB_FILE[$i]}" "${SUB_EXPR[$i]}")
    if [ "$n" != 1 ]; then
      echo "MUTANT $id DID NOT APPLY: ${SUB_FILE[$i]}: its pattern matches ${n:-?} times, not once" >&2
      bad=1
    fi
  done
done
[ $bad = 0 ] || { echo "mutation check: fix the mutants above (the code they target changed?)" >&2; exit 2; }

restore() {
  local f
  for f in $(cd "$ORIG" && find . -type f); do
    cmp -s "$ORIG/$f" "$TREE/$f" || cp "$ORIG/$f" "$TREE/$f"
  done
}

GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if ! cmake -S "$TREE" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release >"$LOGS/configure.log" 2>&1; then
  tail -n 30 "$LOGS/configure.log"
  echo "mutation check: configure failed" >&2
  exit 2
fi
build() { # LOG
  # shellcheck disable=SC2086
  cmake --build "$BUILD" -j "$JOBS" --target $TARGETS >"$1" 2>&1
}

regex_of() { # TEST... -> ^(a|b)$
  local IFS='|'
  echo "^($*)\$"
}
# run_tests LOG TEST...: ctest on exactly those tests; sets FAILED and
# PASSED (space separated names); returns 2 when a test was not found.
run_tests() {
  local log=$1
  shift
  FAILED= PASSED=
  (cd "$BUILD" && ctest -R "$(regex_of "$@")" --output-on-failure) >"$log" 2>&1
  local t
  for t in "$@"; do
    if grep -Eq "Test +#[0-9]+: $t \.+ +Passed" "$log"; then
      PASSED+=" $t"
    elif grep -Eq "Test +#[0-9]+: $t \.+" "$log"; then
      FAILED+=" $t"
    else
      echo "test $t: not run (no such ctest name?)" >&2
      return 2
    fi
  done
}
# first_fail LOG TEST: the first failure line of TEST's output in LOG.
first_fail() {
  awk -v t="$2" -v tree="$TREE/" '
    $0 ~ "Test +#[0-9]+: " t " " { on = 1; next }
    on && /Test +#[0-9]+: / { exit }
    on && !/^ *PASS/ && /FAIL|[Ff]ailed|Assert|mismatch/ {
      sub(/^ +/, ""); gsub(tree, ""); print; exit }' "$1" |
    cut -c1-160
}

# ---- the baseline -----------------------------------------------------------

declare -A seen=()
UNION=()
for id in "${SELECTED[@]}"; do
  for t in ${TESTS[$id]}; do
    [ -n "${seen[$t]+x}" ] || { seen[$t]=1; UNION+=("$t"); }
  done
done
if ! build "$LOGS/build-base.log"; then
  grep -E 'error|Error' "$LOGS/build-base.log" | head -20
  echo "mutation check: the unmutated tree does not build" >&2
  exit 2
fi
tb=$SECONDS
run_tests "$LOGS/test-base.log" "${UNION[@]}" || exit 2
if [ -n "$FAILED" ]; then
  for t in $FAILED; do echo "  $t: $(first_fail "$LOGS/test-base.log" "$t")"; done
  echo "mutation check: the unmutated tree fails:$FAILED -- no verdict is possible" >&2
  NODUS_MUT_KEEP=1
  exit 2
fi
echo "baseline: build $((tb - T0)) s, ${#UNION[@]} tests pass ($((SECONDS - tb)) s)"

# ---- the mutants --------------------------------------------------------------

survived=0 broken=0
RESULTS=()
for id in "${SELECTED[@]}"; do
  tm=$SECONDS
  restore
  applied=1
  for i in "${!SUB_OF[@]}"; do
    [ "${SUB_OF[$i]}" = "$id" ] || continue
    f=$TREE/${SUB_FILE[$i]}
    # The count of substitutions made, checked before the file is touched.
    n=$(count_matches "$f" "${SUB_EXPR[$i]}")
    if [ "$n" != 1 ]; then
      echo "MUTANT $id DID NOT APPLY: ${SUB_FILE[$i]}: its pattern matches ${n:-?} times, not once" >&2
      applied=0
      break
    fi
    perl -0777 -pi -e "${SUB_EXPR[$i]}" "$f"
    cmp -s "$f" "$ORIG/${SUB_FILE[$i]}" && { echo "MUTANT $id DID NOT APPLY: ${SUB_FILE[$i]} unchanged" >&2; applied=0; break; }
  done
  if [ $applied = 0 ]; then
    line=$(printf 'M%-2s %-9s %s' "$id" "ERROR" "did not apply -- ${DESC[$id]}")
    broken=1
  elif ! build "$LOGS/build-$id.log"; then
    if [ -n "${BUILD_KILLS[$id]+x}" ]; then
      line=$(printf 'M%-2s %-9s %s' "$id" "killed" "(build) -- ${DESC[$id]}")
    else
      grep -E 'error' "$LOGS/build-$id.log" | head -5 >&2
      line=$(printf 'M%-2s %-9s %s' "$id" "ERROR" "build failed (not marked build_kills) -- ${DESC[$id]}")
      broken=1
    fi
  else
    # shellcheck disable=SC2086
    if ! run_tests "$LOGS/test-$id.log" ${TESTS[$id]}; then
      line=$(printf 'M%-2s %-9s %s' "$id" "ERROR" "tests missing -- ${DESC[$id]}")
      broken=1
    elif [ -n "$FAILED" ]; then
      line=$(printf 'M%-2s %-9s %s' "$id" "killed" "${DESC[$id]} ($((SECONDS - tm)) s)")
      for t in $FAILED; do line+=$'\n'"      killed by $t: $(first_fail "$LOGS/test-$id.log" "$t")"; done
      [ -n "$PASSED" ] && line+=$'\n'"      passed anyway:$PASSED"
    else
      line=$(printf 'M%-2s %-9s %s' "$id" "survived" "${DESC[$id]} ($((SECONDS - tm)) s)")
      line+=$'\n'"      passed:$PASSED"
      survived=1
    fi
  fi
  echo "$line"
  RESULTS+=("$line")
done
restore

echo "mutation check: ${#SELECTED[@]} mutants in $((SECONDS - T0)) s"
[ $broken = 1 ] && { NODUS_MUT_KEEP=1; exit 2; }
[ $survived = 1 ] && exit 1
exit 0

#!/usr/bin/env bash
# libnodus as a C developer gets it: `cmake --install` of this build into
# a temporary prefix, then tests/package/hello built outside the tree
#   - with pkg-config against libnodus.so,
#   - with pkg-config --static against libnodus.a,
#   - with find_package(nodus CONFIG), against nodus::nodus and
#     nodus::nodus_static,
# and each run against a real erl: ping is pong, rpc:call(C, nodus, nodes,
# []) lists the erl node, erpc:call(C, no_such_module, f, []) raises
# error:undef. Then `cpack -G DEB` and a look inside the .deb (it is not
# installed here).
# Usage: bash test_package.sh BUILD_DIR HELLO_DIR
# Exit 77 (skip) when a tool is missing; with NODUS_REQUIRE_ALL=1, exit 1.
set -u
BUILD_DIR=$(cd "${1:?usage: test_package.sh BUILD_DIR HELLO_DIR}" && pwd)
HELLO_DIR=$(cd "${2:?usage: test_package.sh BUILD_DIR HELLO_DIR}" && pwd)
CMAKE=${CMAKE:-cmake}
CPACK=${CPACK:-cpack}
CC=${CC:-cc}

# Missing tools skip (exit 77), or fail under NODUS_REQUIRE_ALL=1.
source "$(dirname "${BASH_SOURCE[0]}")/../skip_lib.sh"
need "$CC" "$CMAKE" "$CPACK" pkg-config erl epmd dpkg-deb readelf

WORK=$(mktemp -d)
PREFIX=$WORK/prefix
HOST=$(hostname -s)
COOKIE=pkg$$cookie
PIDS=()
passed=0
failed=0
trap '' PIPE # a dead node makes our writes fail, not kill us

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
ko() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else ko "$what"; fi
}
# eventually SECONDS COMMAND...: retries COMMAND until it succeeds.
eventually() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.05
  done
}
not_running() { ! kill -0 "$1" 2>/dev/null; }
show() { tail -n "${2:-20}" "$1" 2>/dev/null | sed 's/^/    /'; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}
# run_logged LOG COMMAND...: COMMAND's output goes to LOG, shown on failure.
run_logged() {
  local log=$1
  shift
  if "$@" >"$log" 2>&1; then return 0; fi
  show "$log" 30
  return 1
}

# ---- install ------------------------------------------------------------

if ! run_logged "$WORK/install.log" "$CMAKE" --install "$BUILD_DIR" --prefix "$PREFIX"; then
  ko "cmake --install into a temporary prefix"
  finish
fi
ok "cmake --install into a temporary prefix"
pc=$(find "$PREFIX" -name nodus.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { ko "the prefix has a nodus.pc"; finish; }
libdir=$(dirname "$(dirname "$pc")")
for f in include/nodus.h include/nodus/node.h include/nodus/version.h bin/nodus; do
  check "installed $f" test -f "$PREFIX/$f"
done
for f in libnodus.so libnodus.so.0 libnodus.a pkgconfig/nodus.pc cmake/nodus/nodusConfig.cmake \
  cmake/nodus/nodusConfigVersion.cmake cmake/nodus/nodusTargets.cmake; do
  check "installed ${libdir#"$PREFIX"/}/$f" test -e "$libdir/$f"
done
check "libnodus.so's SONAME is libnodus.so.0" \
  eval "readelf -d '$libdir/libnodus.so' | grep -q 'SONAME.*\[libnodus\.so\.0\]'"

export PKG_CONFIG_PATH=$libdir/pkgconfig
version=$(pkg-config --modversion nodus 2>/dev/null)
check "pkg-config finds nodus in the prefix (version '$version')" test -n "$version"
check "nodus --version prints 'nodus $version'" \
  eval "[ \"\$('$PREFIX/bin/nodus' --version)\" = 'nodus $version' ]"

# `nodus cluster` from the prefix runs the helpers installed beside it
# (libexec/nodus), not the build tree's: a loopback cluster of one C node.
for f in echo_node nodus_kit_connect; do
  check "installed libexec/nodus/$f" test -x "$PREFIX/libexec/nodus/$f"
done
KDIR=$WORK/kit
if env -u NODUS_BIN_DIR "$PREFIX/bin/nodus" cluster up --nodes 1 --loopback \
  --dir "$KDIR" >"$WORK/kit.log" 2>&1; then
  check "installed nodus cluster runs the installed echo_node" \
    grep -qx "exec $PREFIX/libexec/nodus/echo_node" "$KDIR/cluster"
  "$PREFIX/bin/nodus" cluster down --dir "$KDIR" >>"$WORK/kit.log" 2>&1
else
  ko "installed nodus cluster up --nodes 1 --loopback: $(tail -n 3 "$WORK/kit.log")"
fi

# ---- build hello four ways ------------------------------------------------

BINS=()
built() { BINS+=("$1=$2"); } # NAME BINARY: run against erl below
needs_libnodus_so() { readelf -d "$1" | grep -q 'NEEDED.*\[libnodus\.so\.0\]'; }

# The shared library, as `cc $(pkg-config --cflags --libs nodus)`; the rpath
# lets it run from the temporary prefix.
# Warnings as errors: the public headers must compile cleanly for users.
USER_CFLAGS=(-Wall -Wextra -Werror)
out=$WORK/hello_pc
if run_logged "$WORK/pc.log" "$CC" "${USER_CFLAGS[@]}" -o "$out" "$HELLO_DIR/hello.c" -pthread \
  $(pkg-config --cflags --libs nodus) -Wl,-rpath,"$(pkg-config --variable=libdir nodus)"; then
  ok "pkg-config: hello builds against libnodus.so"
  check "pkg-config: hello needs libnodus.so.0" needs_libnodus_so "$out"
  built pc-shared "$out"
else
  ko "pkg-config: hello builds against libnodus.so"
fi

# libnodus.a and everything it needs from `pkg-config --static --libs`. The
# prefix has both libraries, where -lnodus picks the .so: name the archive.
out=$WORK/hello_pc_static
static_libs=$(pkg-config --static --libs nodus | sed 's/-lnodus\b/-l:libnodus.a/')
if run_logged "$WORK/pc_static.log" "$CC" "${USER_CFLAGS[@]}" -o "$out" "$HELLO_DIR/hello.c" -pthread \
  $(pkg-config --cflags nodus) $static_libs; then
  ok "pkg-config --static: hello builds against libnodus.a ($static_libs)"
  check "pkg-config --static: hello does not need libnodus.so" eval "! needs_libnodus_so '$out'"
  built pc-static "$out"
else
  ko "pkg-config --static: hello builds against libnodus.a"
fi

# find_package(nodus CONFIG) from the prefix alone: no package registry.
hb=$WORK/hello-build
if run_logged "$WORK/cmake.log" "$CMAKE" -S "$HELLO_DIR" -B "$hb" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF &&
  run_logged "$WORK/cmake_build.log" "$CMAKE" --build "$hb"; then
  ok "find_package(nodus CONFIG): hello and hello_static build"
  check "find_package found the prefix's nodus" \
    grep -q "^nodus_DIR:PATH=$libdir/cmake/nodus\$" "$hb/CMakeCache.txt"
  check "nodus::nodus: hello needs libnodus.so.0" needs_libnodus_so "$hb/hello"
  check "nodus::nodus_static: hello_static does not need libnodus.so" \
    eval "! needs_libnodus_so '$hb/hello_static'"
  built cmake-shared "$hb/hello"
  built cmake-static "$hb/hello_static"
else
  ko "find_package(nodus CONFIG): hello and hello_static build"
fi

# ---- run each against erl --------------------------------------------------

# Our own epmd on a free port, in the foreground so that it is ours to
# kill by pid; erl and hello find it by ERL_EPMD_PORT.
epmd_up() { epmd -port "$1" -names >/dev/null 2>&1 && kill -0 "$2" 2>/dev/null; }
start_epmd() {
  local p tries pid
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + ($$ * 7 + tries * 131) % 30000))
    epmd -port "$p" -names >/dev/null 2>&1 && continue # taken
    epmd -port "$p" -relaxed_command_check >"$WORK/epmd.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if eventually 3 epmd_up "$p" "$pid"; then
      export ERL_EPMD_PORT=$p
      return 0
    fi
  done
  return 1
}
export ERL_CRASH_DUMP_SECONDS=0
start_epmd || { ko "a private epmd starts"; finish; }

# What erl checks, printing PASS/FAIL lines and DONE.
ERL_CHECKS='
C = list_to_atom(os:getenv("CNODE")),
T = fun(D, true) -> io:format("PASS ~s~n", [D]);
       (D, Other) -> io:format("FAIL ~s: ~W~n", [D, Other, 30]) end,
T("erl pings the C node: pong", net_adm:ping(C) =:= pong orelse pang),
T("the C node is in erl nodes()", lists:member(C, nodes()) orelse nodes()),
T("rpc:call(C, nodus, nodes, []) lists the erl node",
  case rpc:call(C, nodus, nodes, [], 10000) of
    L when is_list(L) -> lists:member(node(), L) orelse L;
    Other -> Other
  end),
%% erpc:call raises a remote error as error:{exception, Reason, Stack},
%% against BEAM nodes too.
T("erpc:call(C, no_such_module, f, []) raises error:undef",
  try erpc:call(C, no_such_module, f, [], 10000) of
    V -> {returned, V}
  catch
    error:{exception, undef, _} -> true;
    Class:Reason -> {Class, Reason}
  end),
io:format("DONE~n"),
halt().
'
grep_file() { grep -Eq "$2" "$1" 2>/dev/null; }
ready_or_gone() { grep_file "$1" "^ready $2 " || not_running "$3"; }

# try_hello VARIANT BINARY STOP: runs the node, erl's checks, then stops it
# by closing its stdin (STOP=eof) or with SIGTERM (STOP=term).
try_hello() {
  local v=$1 bin=$2 stop=$3 name=pk_${1//-/_}_$$@$HOST fd pid rc
  local out=$WORK/$v.out err=$WORK/$v.err erl_out=$WORK/$v.erl
  mkfifo "$WORK/$v.in"
  "$bin" "$name" "$COOKIE" <"$WORK/$v.in" >"$out" 2>"$err" &
  pid=$!
  PIDS+=("$pid")
  exec {fd}>"$WORK/$v.in"
  if ! eventually 15 ready_or_gone "$out" "$name" "$pid" ||
    ! grep_file "$out" "^ready $name libnodus $version\$"; then
    ko "$v: hello prints 'ready $name libnodus $version'"
    show "$out"
    show "$err"
    exec {fd}>&-
    return
  fi
  ok "$v: hello is up as $name"
  CNODE=$name timeout 60 erl -sname "probe_${v//-/_}_$$" -setcookie "$COOKIE" -noshell \
    -eval "$ERL_CHECKS" >"$erl_out" 2>&1
  while read -r line; do
    case $line in
      PASS\ *) ok "$v: ${line#PASS }" ;;
      FAIL\ *) ko "$v: ${line#FAIL }" ;;
    esac
  done <"$erl_out"
  grep -q '^DONE' "$erl_out" || { ko "$v: erl's checks finished"; show "$erl_out"; }

  if [ "$stop" = term ]; then kill -TERM "$pid"; fi
  exec {fd}>&-
  if ! eventually 20 not_running "$pid"; then
    ko "$v: hello stops on $stop"
    return
  fi
  wait "$pid"
  rc=$?
  if [ "$rc" -eq 0 ] && grep -qx bye "$out"; then
    ok "$v: hello closes the node and exits 0 on $stop"
  else
    ko "$v: hello closes the node and exits 0 on $stop (rc $rc)"
    show "$err"
  fi
}

stop=eof
for entry in "${BINS[@]}"; do
  try_hello "${entry%%=*}" "${entry#*=}" "$stop"
  [ "$stop" = eof ] && stop=term || stop=eof # both ways, alternately
done

# ---- the Debian package --------------------------------------------------

if command -v dpkg-shlibdeps >/dev/null; then
  # Plain cpack first builds the tree (its "preinstall" step); a test must
  # not rebuild what other tests run from. So CPack runs the build's own
  # install script instead, into /usr as the DEB generator does: the same
  # files `cpack -G DEB` packages, from what is built, like the install above.
  if run_logged "$WORK/cpack.log" "$CPACK" -G DEB -B "$WORK/deb" \
    --config "$BUILD_DIR/CPackConfig.cmake" -D CPACK_INSTALL_CMAKE_PROJECTS= \
    -D CPACK_INSTALL_SCRIPTS="$BUILD_DIR/cmake_install.cmake" -D CPACK_INSTALL_PREFIX=/usr; then
    deb=$(ls "$WORK"/deb/libnodus*.deb 2>/dev/null | head -n 1)
    check "cpack -G DEB makes libnodus*.deb" test -n "$deb"
  else
    ko "cpack -G DEB makes libnodus*.deb"
    deb=
  fi
  if [ -n "$deb" ]; then
    dpkg-deb --info "$deb" >"$WORK/deb.info"
    dpkg-deb --contents "$deb" >"$WORK/deb.contents"
    check "the package is libnodus $version" eval \
      "grep -q '^ *Package: libnodus\$' '$WORK/deb.info' && grep -q '^ *Version: $version' '$WORK/deb.info'"
    check "its Depends name libuv1, libssl3, zlib1g and the -dev packages" eval \
      "grep '^ *Depends:' '$WORK/deb.info' | grep 'libuv1 ' | grep 'libssl3' | grep 'zlib1g ' | grep -q 'libuv1-dev'"
    for f in lib/libnodus.so.0 "lib/libnodus.so.$version" lib/libnodus.a lib/pkgconfig/nodus.pc \
      lib/cmake/nodus/nodusConfig.cmake lib/cmake/nodus/nodusTargets.cmake include/nodus.h \
      include/nodus/version.h bin/nodus; do
      check "the package has /usr/$f" grep -Eq " \./usr/${f//./\\.}( ->|\$)" "$WORK/deb.contents"
    done
  fi
else
  if [ "${NODUS_REQUIRE_ALL:-0}" = 1 ]; then
    ko "dpkg-shlibdeps (dpkg-dev) for cpack -G DEB"
  else
    echo "SKIP: no dpkg-shlibdeps (dpkg-dev): no .deb checks"
  fi
fi

finish

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the Debian packages and proves they work where they are installed:
#   a. builds icmil_*.deb and icmil-studio_*.deb (CPack) in BUILD_DIR (default: build);
#   b. validates the desktop entry and the AppStream metainfo;
#   c. prints and checks the computed Depends (no -dev package, no RUNPATH in the binaries);
#   d. installs both with apt-get, which resolves the Depends for real;
#   e. runs the installed binaries (--version, ldd) and checks and re-validates the installed files;
#   f. starts the installed icmil-studio under Xvfb (proves the xcb platform plugin is there);
#   g. purges the packages again, and any package their install pulled in.
# Needs root (or sudo) for apt-get. CI runs it on a throwaway machine; on a dev machine it leaves
# the package set as it found it (step g also runs when an earlier step fails).
# Usage: packaging/check-package.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
APP_ID=studio.icmil.IcmilStudio
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

fail() { echo "check-package: FAIL: $*" >&2; exit 1; }
step() { echo; echo "=== check-package: $* ==="; }

[ -f "$BUILD/CPackConfig.cmake" ] || fail "$BUILD/CPackConfig.cmake missing: configure first (cmake -S . -B $BUILD)"
for tool in desktop-file-validate appstreamcli dpkg-deb dpkg-shlibdeps readelf xvfb-run; do
  command -v "$tool" >/dev/null || fail "$tool not found: run packaging/install-deps.sh"
done

# ---- a. build -------------------------------------------------------------------------------
step "a. building the packages in $BUILD"
rm -f "$BUILD"/packages/*.deb
cmake --build "$BUILD" -j"$(nproc)" --target package >"$BUILD/check-package-cpack.log" 2>&1 \
  || { tail -n 30 "$BUILD/check-package-cpack.log"; fail "cmake --build $BUILD --target package failed (log: $BUILD/check-package-cpack.log)"; }
shopt -s nullglob
cli_debs=("$BUILD"/packages/icmil_*.deb)
gui_debs=("$BUILD"/packages/icmil-studio_*.deb)
shopt -u nullglob
[ ${#cli_debs[@]} -eq 1 ] || fail "expected one icmil_*.deb in $BUILD/packages, found ${#cli_debs[@]}"
[ ${#gui_debs[@]} -eq 1 ] || fail "expected one icmil-studio_*.deb in $BUILD/packages, found ${#gui_debs[@]}"
CLI_DEB="$(realpath "${cli_debs[0]}")"
GUI_DEB="$(realpath "${gui_debs[0]}")"
ls -l "$CLI_DEB" "$GUI_DEB"

# ---- b. validate the metadata ------------------------------------------------------------------
step "b. desktop-file-validate and appstreamcli validate"
validate_desktop() {
  local out
  out="$(desktop-file-validate "$1" 2>&1)" || fail "desktop-file-validate $1: $out"
  [ -z "$out" ] || fail "desktop-file-validate $1 is not clean: $out"
  echo "desktop-file-validate $1: clean"
}
validate_metainfo() {
  appstreamcli validate --no-net "$1" || fail "appstreamcli validate --no-net $1 failed (above)"
}
for f in packaging/*.desktop; do validate_desktop "$f"; done
for f in packaging/*.metainfo.xml; do validate_metainfo "$f"; done

# ---- c. Depends and binaries -----------------------------------------------------------------
step "c. package fields, Depends, contents"
check_depends() {  # deb, then the packages its Depends must name
  local deb="$1"; shift
  local depends
  depends="$(dpkg-deb -f "$deb" Depends)"
  echo "$(basename "$deb"): $(du -h "$deb" | cut -f1), Installed-Size $(dpkg-deb -f "$deb" Installed-Size) KiB"
  echo "  Depends: $depends"
  local recommends; recommends="$(dpkg-deb -f "$deb" Recommends)"
  [ -z "$recommends" ] || echo "  Recommends: $recommends"
  # Each relation's package name: a -dev package would drag a compiler toolchain onto a server.
  if tr ',|' '\n\n' <<<"$depends" | awk '{print $1}' | grep -q -- '-dev$'; then
    fail "$(basename "$deb") depends on a -dev package: $depends"
  fi
  local want
  for want in "$@"; do
    grep -qE "(^|[ ,|])${want}" <<<"$depends" || fail "$(basename "$deb"): Depends lacks $want"
  done
}
check_depends "$CLI_DEB" libtorch libopenslide libopenblas0-pthread
if dpkg-deb -f "$CLI_DEB" Depends | grep -q 'libqt'; then
  fail "$(basename "$CLI_DEB") depends on Qt; the command line must run on servers without it"
fi
check_depends "$GUI_DEB" libtorch libopenslide libqt6widgets6 libqt6gui6 libqt6svg6 libopenblas0-pthread

scratch="$(mktemp -d)"
cleanup_scratch() { rm -rf "$scratch"; }
trap cleanup_scratch EXIT
for deb in "$CLI_DEB" "$GUI_DEB"; do
  echo "  $(basename "$deb") contents:"
  dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print "    " $6 "  (" $3 " bytes)"}'
  dpkg-deb -x "$deb" "$scratch/root"
done
for bin in icmil icmil-studio; do
  if readelf -d "$scratch/root/usr/bin/$bin" | grep -E 'RPATH|RUNPATH'; then
    fail "the packaged /usr/bin/$bin carries an RPATH/RUNPATH (above)"
  fi
done
echo "no RPATH/RUNPATH in the packaged binaries"
for p in icmil icmil-studio; do
  grep -q '^License: GPL-3.0-or-later' "$scratch/root/usr/share/doc/$p/copyright" 2>/dev/null \
    || fail "the $p package has no /usr/share/doc/$p/copyright naming GPL-3.0-or-later"
done
echo "copyright (DEP-5, GPL-3.0-or-later): /usr/share/doc/icmil/copyright, /usr/share/doc/icmil-studio/copyright"

# ---- d. install ------------------------------------------------------------------------------
step "d. apt-get install"
installed_before="$scratch/before"
dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort >"$installed_before"
purge_all() {
  local rc=0 added=()
  mapfile -t added < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' \
    | sort | comm -13 "$installed_before" - | grep -vxE 'icmil|icmil-studio' || true)
  echo "apt-get purge icmil icmil-studio ${added[*]}"
  $SUDO apt-get purge -y -qq icmil icmil-studio "${added[@]}" >"$scratch/purge.log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then cat "$scratch/purge.log"; fi
  for p in icmil icmil-studio; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then rc=1; fi
  done
  return $rc
}
on_exit() {
  local rc=$?
  if [ "${purged:-no}" = no ]; then
    echo "check-package: purging the packages after a failure"
    purge_all || echo "check-package: the purge failed too; remove by hand: apt-get purge icmil icmil-studio" >&2
  fi
  cleanup_scratch
  exit $rc
}
purged=no
trap on_exit EXIT
$SUDO apt-get install -y -q --reinstall "$CLI_DEB" "$GUI_DEB" >"$scratch/install.log" 2>&1 \
  || { cat "$scratch/install.log"; fail "apt-get install of the two packages failed (above)"; }
grep -E '^Setting up ' "$scratch/install.log" || true
dpkg-query -W -f='${Package} ${Version} ${Status}\n' icmil icmil-studio

# ---- e. the installed files ------------------------------------------------------------------
step "e. installed binaries and files"
(
  unset DISPLAY WAYLAND_DISPLAY QT_QPA_PLATFORM
  cd /
  /usr/bin/icmil --version || fail "/usr/bin/icmil --version failed"
  /usr/bin/icmil-studio --version || fail "/usr/bin/icmil-studio --version failed (without a display)"
  # --version loads the LibTorch module, the installed one (it is looked for there first).
  /usr/bin/icmil-studio --version | grep -q '^LibTorch [0-9]' \
    || fail "/usr/bin/icmil-studio --version did not load the installed LibTorch module"
)
module="$(dpkg -L icmil-studio | grep '/libicmil_torch\.so$' | head -n 1)"
[ -n "$module" ] && [ -f "$module" ] || fail "the icmil-studio package installed no libicmil_torch.so"
if ldd "$module" | grep 'not found'; then fail "ldd $module: libraries not found (above)"; fi
echo "ldd $module: $(ldd "$module" | wc -l) libraries, none missing"
for bin in /usr/bin/icmil /usr/bin/icmil-studio; do
  if ldd "$bin" | grep 'not found'; then fail "ldd $bin: libraries not found (above)"; fi
  echo "ldd $bin: $(ldd "$bin" | wc -l) libraries, none missing"
done
# Our own NEEDED list: Debian's libtorch_cpu itself needs libopencv_highgui, which brings Qt 5 in.
if readelf -d /usr/bin/icmil | grep 'NEEDED.*libQt'; then fail "/usr/bin/icmil links Qt directly (above)"; fi
man_excluded=no
if grep -qsE '^path-exclude[= ]+/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then man_excluded=yes; fi
for f in /usr/share/applications/$APP_ID.desktop /usr/share/metainfo/$APP_ID.metainfo.xml \
         /usr/share/icons/hicolor/scalable/apps/$APP_ID.svg \
         /usr/share/man/man1/icmil.1.gz /usr/share/man/man1/icmil-studio.1.gz; do
  if [ ! -s "$f" ]; then
    if [[ "$f" == /usr/share/man/* && $man_excluded == yes ]]; then
      echo "$f: not installed, this machine's dpkg excludes /usr/share/man (it is in the .deb: see c.)"
      continue
    fi
    fail "$f is missing after the install"
  fi
  echo "installed: $f"
done
validate_desktop /usr/share/applications/$APP_ID.desktop
validate_metainfo /usr/share/metainfo/$APP_ID.metainfo.xml

# ---- f. the GUI under Xvfb -------------------------------------------------------------------
step "f. icmil-studio under Xvfb (xcb platform plugin)"
seconds=8
home="$scratch/home"; mkdir -p "$home"
rc=0
env -u WAYLAND_DISPLAY HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_RUNTIME_DIR="$home" \
  QT_QPA_PLATFORM=xcb QT_DEBUG_PLUGINS=1 \
  xvfb-run -a -s "-screen 0 1280x1024x24" timeout "$seconds" /usr/bin/icmil-studio \
  >"$scratch/gui.log" 2>&1 || rc=$?
if grep -qiE 'could not (load|find) the qt platform plugin|could not connect to display|no qt platform plugin' "$scratch/gui.log"; then
  grep -iE 'platform plugin|display' "$scratch/gui.log" | head -n 5
  fail "icmil-studio printed a Qt platform-plugin error under Xvfb (above)"
fi
[ $rc -eq 124 ] || { tail -n 20 "$scratch/gui.log"; fail "icmil-studio exited early under Xvfb (exit $rc, log above); it should run until timeout stops it"; }
# QT_DEBUG_PLUGINS names each plugin it loads: the xcb platform plugin (libqt6gui6) and the SVG
# icon engine (libqt6svg6, a Depends because nothing links it) must both have loaded.
for plugin in platforms/libqxcb.so iconengines/libqsvgicon.so; do
  grep -qF "/plugins/$plugin\" loaded library" "$scratch/gui.log" \
    || fail "icmil-studio did not load the Qt plugin $plugin under Xvfb (log: QT_DEBUG_PLUGINS=1 output)"
  echo "loaded Qt plugin: $plugin"
done
echo "icmil-studio ran ${seconds} s under Xvfb with the xcb platform plugin, no plugin error"

# ---- g. remove again ----------------------------------------------------------------------
step "g. apt-get purge"
if purge_all; then
  purged=yes
  echo "purged: icmil and icmil-studio are no longer installed"
else
  purged=failed
  fail "apt-get purge failed; remove by hand: apt-get purge icmil icmil-studio"
fi
echo
echo "check-package: OK ($(basename "$CLI_DEB"), $(basename "$GUI_DEB"))"

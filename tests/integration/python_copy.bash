# Container-style copies of a pyenv CPython for the placement tests (source
# it after lib.sh). A copy is DEST/bin/pythonX.Y and DEST/lib/libpythonX.Y.so
# stripped with `strip --strip-all`, the standard library a symlink to the
# pyenv one, RUNPATH $ORIGIN/../lib, so the copy runs anywhere it is put.
#
# python_copy PYTHON DEST DEBUG
#   PYTHON: a pyenv interpreter (find_python); DEBUG says where the debug
#   files go: "none" (nowhere), "link" (next to each file, named by
#   .gnu_debuglink), "dir:D" (D/.build-id/NN/REST.debug, the layout of
#   /usr/lib/debug and of a debuginfod server's scanned folder).
# Prints nothing; sets PYCOPY_LIB (the stripped libpython) and PYCOPY_ORIG_LIB.
python_copy() {
  local py src dest=$2 debug=$3 ver prefix lib f
  require_cmd strip objcopy patchelf readelf
  py=$(readlink -f "$1")
  prefix=$(dirname "$(dirname "$py")")
  ver=$(basename "$py" | sed 's/^python//')
  lib=$(ls "$prefix"/lib/libpython"$ver"*.so.1.0 2>/dev/null | head -1)
  [ -n "$lib" ] || fail "$prefix: no libpython$ver (pyenv builds are --enable-shared)"
  mkdir -p "$dest/bin" "$dest/lib"
  cp "$py" "$dest/bin/"
  cp "$lib" "$dest/lib/"
  ln -s "$prefix/lib/python$ver" "$dest/lib/python$ver"
  patchelf --set-rpath '$ORIGIN/../lib' "$dest/bin/$(basename "$py")"
  for f in "$dest/bin/$(basename "$py")" "$dest/lib/$(basename "$lib")"; do
    if [ "$debug" != none ]; then
      objcopy --only-keep-debug "$f" "$f.debug"
    fi
    strip --strip-all "$f"
    case "$debug" in
      none) ;;
      link) objcopy --add-gnu-debuglink="$f.debug" "$f" ;;
      dir:*)
        local id
        id=$(readelf -n "$f" | awk '/Build ID/ { print $3 }')
        mkdir -p "${debug#dir:}/.build-id/${id:0:2}"
        mv "$f.debug" "${debug#dir:}/.build-id/${id:0:2}/${id:2}.debug" ;;
      *) fail "python_copy: DEBUG is none, link or dir:D" ;;
    esac
  done
  readelf -S "$dest/lib/$(basename "$lib")" | grep '\.symtab' > /dev/null \
    && fail "python_copy: $dest/lib/$(basename "$lib") still has .symtab"
  PYCOPY_LIB="$dest/lib/$(basename "$lib")"
  PYCOPY_ORIG_LIB=$lib
}

# symtab_addr LIB NAME: NAME's address in LIB's own .symtab (readelf, not
# gilscope), as the decimal number gstrace.py prints.
symtab_addr() {
  local hex
  hex=$(readelf -sW "$1" | awk -v n="$2" '$8 == n && $4 == "FUNC" { print $2; exit }')
  [ -n "$hex" ] || fail "$1: no $2 in its .symtab"
  printf '%d\n' "0x$hex"
}

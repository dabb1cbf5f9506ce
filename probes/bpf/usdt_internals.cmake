# Pins gilscope.bpf.c's copy of libbpf's bpf_usdt_arg() (usdt_args()) to the
# libbpf it was checked against. usdt_args() reads libbpf's private
# __bpf_usdt_specs map and struct __bpf_usdt_spec / __bpf_usdt_arg_spec from
# bpf/usdt.bpf.h; libbpf's user side (usdt.c) fills that map, and a new
# libbpf may change the layout or add argument kinds (1.3 turned arg_type
# into a bitfield and added SIB addressing) without any compile error here.
#
# Run after compiling gilscope.bpf.c with -MD: finds the usdt.bpf.h that
# clang actually used (from the dependency file) and fails the build unless
# its SHA-256 is one usdt_args() has been checked against.
#
#   cmake -DDEPFILE=gilscope.bpf.d -P usdt_internals.cmake
#
# When it fails: compare usdt_args() in gilscope.bpf.c with bpf_usdt_arg()
# in the new usdt.bpf.h, fix usdt_args() (or switch to bpf_usdt_arg(), see
# the comment there), run the ebpf_* integration tests, and add the hash.

# sha256 of bpf/usdt.bpf.h  ->  where it comes from
set(GSB_USDT_CHECKED
  "13b913cb8e8e0e98ed5830923cfd22e2dffba50281af8dcf27e0ccafd0e35830" # libbpf 1.1.2 (Debian 12 libbpf-dev 1:1.1.2-0+deb12u1)
)

if(NOT DEPFILE OR NOT EXISTS "${DEPFILE}")
  message(FATAL_ERROR "usdt_internals.cmake: DEPFILE '${DEPFILE}' not found")
endif()
file(READ "${DEPFILE}" deps)
string(REGEX MATCH "[^ \t\r\n\\\\]*/bpf/usdt\\.bpf\\.h" header "${deps}")
if(NOT header)
  message(FATAL_ERROR "usdt_internals.cmake: gilscope.bpf.c no longer "
          "includes bpf/usdt.bpf.h (${DEPFILE}): drop this check")
endif()
file(SHA256 "${header}" sum)
list(FIND GSB_USDT_CHECKED "${sum}" known)
if(known EQUAL -1)
  message(FATAL_ERROR
    "${header} (sha256 ${sum}) is not the libbpf usdt.bpf.h that "
    "usdt_args() in probes/bpf/gilscope.bpf.c copies: it reads libbpf's "
    "private __bpf_usdt_specs, whose layout and argument kinds may have "
    "changed. Compare usdt_args() with bpf_usdt_arg() in that header, fix "
    "it (or use bpf_usdt_arg(): see the comment above usdt_args()), run "
    "'ctest -R ebpf_' and add the hash to probes/bpf/usdt_internals.cmake.")
endif()

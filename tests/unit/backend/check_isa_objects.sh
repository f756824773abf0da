#!/bin/sh
# Fails when a per-ISA object file (its name says avx2, avx512, ...) defines weak symbols:
# out-of-line copies of shared inline functions that the linker may pick for code running
# on CPUs without that ISA.
status=0
for object in "$@"; do
  case $object in
    *avx*)
      if nm -C "$object" | grep -E ' [WVu] '; then
        echo "$object: weak symbols compiled for another ISA" >&2
        status=1
      fi
      ;;
  esac
done
exit $status

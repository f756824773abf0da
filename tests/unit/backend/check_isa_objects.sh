#!/bin/sh
# Checks the per-ISA object files (their names say avx2, avx512, ...):
# - none defines weak symbols: out-of-line copies of shared inline functions that the
#   linker may pick for code running on CPUs without that ISA;
# - the AVX-512 int8 kernels use VNNI (vpdpbusd), so the flags reached them, and the
#   AVX2 ones do not (they must run on CPUs without it).
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
  case $object in
    *quant_matvec_avx512*)
      if ! objdump -d "$object" | grep -q vpdpbusd; then
        echo "$object: no VNNI dot product instruction" >&2
        status=1
      fi
      ;;
    *quant_matvec_avx2*)
      if objdump -d "$object" | grep -qE 'vpdpbusd|zmm'; then
        echo "$object: AVX-512 instructions in the AVX2 kernels" >&2
        status=1
      fi
      ;;
  esac
done
exit $status

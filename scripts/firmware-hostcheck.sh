#!/usr/bin/env bash
# Host-side stand-in for "the firmware builds under ESP-IDF" where no ESP-IDF
# toolchain is installed: for each ESP-IDF source tree, target and firmware
# configuration it
#   1. generates sdkconfig + sdkconfig.h from the real Kconfig tree with the
#      firmware's defaults layers (scripts/kconfig_gen.py, Debian's
#      python3-kconfiglib);
#   2. runs wsbench's sdkconfig check on each (go test ./idf -run
#      TestCheckGeneratedSDKConfigs): every defaults line must take effect;
#   3. compiles firmware/main/*.c and components/wsbench_wire/*.c
#      syntax-only with an Xtensa GCC (Debian's gcc-xtensa-lx106 12.2; ESP-IDF
#      uses its own GCC 13/14 build) against the real ESP-IDF headers, with
#      int32_t/uint32_t as long as in ESP-IDF's Xtensa toolchain, and
#      -Wall -Werror=all -Wextra -Werror (ESP-IDF adds -Wno-unused-parameter
#      -Wno-sign-compare -Wno-enum-conversion; this is stricter).
# It does not link, does not use ESP-IDF's own compiler, and reads every
# component's include directories rather than only the required ones (a
# missing REQUIRES entry does not show here).
#
#   apt-get install gcc-xtensa-lx106 libnewlib-dev python3-kconfiglib
#   IDF_TREES="5.3.5=/src/esp-idf-v5.3.5 5.4.4=/src/esp-idf-v5.4.4" \
#   WS=/src/esp-protocols/components/esp_websocket_client \
#   scripts/firmware-hostcheck.sh [OUT]
#
# Each ESP-IDF tree needs its lwip submodule (components/lwip/lwip) for the
# socket headers esp_http_client.h includes.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${IDF_TREES:?set IDF_TREES=\"VERSION=DIR ...\"}"
: "${WS:?set WS to an esp_websocket_client checkout}"
out="${1:-$(mktemp -d)}"
fw="$PWD/firmware"
for tool in xtensa-lx106-elf-gcc /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install gcc-xtensa-lx106 libnewlib-dev python3-kconfiglib)" >&2; exit 2; }
done
[ -d /usr/include/newlib ] || { echo "missing /usr/include/newlib (apt-get install libnewlib-dev)" >&2; exit 2; }

# Debian's newlib 3.3 headers stand in for ESP-IDF's newlib 4.3 fork; two
# declarations differ: the const of _global_impure_ptr, and sys/dirent.h,
# which ESP's newlib defines for the VFS (ESP-IDF keeps the same definitions
# in platform_include/sys/dirent.h for clang).
mkshim() { # $1 shim dir, $2 ESP-IDF tree
  mkdir -p "$1/sys"
  sed 's/extern struct _reent \*const _global_impure_ptr/extern struct _reent * _global_impure_ptr/' \
    /usr/include/newlib/sys/reent.h > "$1/sys/reent.h"
  { echo '#pragma once'
    sed -n '/^#pragma once/,/^#else \/\/ __clang__/p' "$2/components/newlib/platform_include/sys/dirent.h" | sed '1d;$d'
  } > "$1/sys/dirent.h"
}

incs() { # include dirs of every component for target $2 in tree $1
  local h=$1 t=$2
  local others="esp32|esp32s2|esp32s3|esp32c2|esp32c3|esp32c5|esp32c6|esp32c61|esp32h2|esp32h21|esp32h4|esp32p4|linux|riscv|esp8684"
  {
    find "$h/components" -type d -name include | grep -vE "/($others)(/|$)" |
      grep -vE "/(test|tests|test_apps|host_test|linux|riscv|FreeRTOS-Kernel-SMP|FreeRTOS-Kernel-V10)/" || true
    find "$h/components" -type d \( -path "*/$t/include" -o -path "*/$t" -o -path "*/xtensa/include" \) |
      grep -vE "/(test|tests|test_apps|host_test|FreeRTOS-Kernel-SMP)/" || true
    echo "$h/components/freertos/config/include/freertos"
    echo "$h/components/freertos/config/xtensa/include"
    echo "$h/components/freertos/FreeRTOS-Kernel/portable/xtensa/include/freertos"
    echo "$h/components/newlib/platform_include"
    echo "$h/components/soc/$t/register"
    echo "$h/components/xtensa/deprecated_include"
    echo "$h/components/esp_rom/$t/include/$t"
    echo "$h/components/lwip/lwip/src/include"
    echo "$WS/include"
    echo "$fw/main"
    echo "$fw/components/wsbench_wire/include"
  } | sed 's/^/-I/'
}

configs() { # name:layer;layer...
  for v in int stack-ext alloc-ext both-ext mbedtls-ext dyn-buf; do echo "$v:variants/$v.defaults"; done
  echo "qemu-int:variants/int.defaults;sdkconfig.defaults.qemu"
  echo "options:variants/both-ext.defaults;$out/options-$1.defaults"
}

clean=0 dirty=0
for tree in $IDF_TREES; do
  ver=${tree%%=*} idf=${tree#*=}
  shim="$out/shim-$ver"
  mkshim "$shim" "$idf"
  for t in esp32s3 esp32; do
    # Code paths the variants leave off: strict behaviour, idle sampling,
    # panicking task watchdog, and on the S3 the USB-Serial-JTAG console.
    printf 'CONFIG_WSBENCH_BEHAVIOUR_STRICT=y\nCONFIG_WSBENCH_IDLE_SAMPLING=y\nCONFIG_ESP_TASK_WDT_PANIC=y\n' > "$out/options-$t.defaults"
    [ "$t" = esp32s3 ] && echo 'CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG=y' >> "$out/options-$t.defaults"
    mapfile -t inc < <(incs "$idf" "$t")
    while IFS=: read -r name extra; do
      dir="$out/$ver-$t-$name"
      IFS=';' read -r -a layers <<< "$extra"
      /usr/bin/python3 scripts/kconfig_gen.py "$idf" "$ver" "$WS" "$t" "$fw" "$dir" \
        sdkconfig.defaults "sdkconfig.defaults.$t" "${layers[@]}" > "$dir.log" 2>&1 ||
        { echo "kconfig_gen failed for $dir:" >&2; tail -5 "$dir.log" >&2; exit 1; }
      for f in firmware/main/*.c firmware/components/wsbench_wire/*.c; do
        if msg=$(xtensa-lx106-elf-gcc -fsyntax-only -std=gnu17 -Wall -Werror=all -Wextra -Werror -mlongcalls \
          -U__INT32_TYPE__ -D__INT32_TYPE__=long -U__UINT32_TYPE__ '-D__UINT32_TYPE__=long unsigned int' \
          -U__INT_LEAST32_TYPE__ -D__INT_LEAST32_TYPE__=long -U__UINT_LEAST32_TYPE__ '-D__UINT_LEAST32_TYPE__=long unsigned int' \
          -DESP_PLATFORM -DIDF_VER="\"v$ver\"" -D_GNU_SOURCE -D_GLIBCXX_USE_POSIX_SEMAPHORE -D_GLIBCXX_HAVE_POSIX_SEMAPHORE \
          -DWSBENCH_WS_COMPONENT_VERSION='"0.0.0"' -DWSBENCH_WS_COMPONENT_COMMIT='""' \
          "-I$dir" "${inc[@]}" -isystem "$shim" -isystem /usr/include/newlib "$f" 2>&1) && [ -z "$msg" ]; then
          clean=$((clean + 1))
        else
          dirty=$((dirty + 1))
          echo "### ESP-IDF v$ver $t $name: $f"
          echo "$msg" | head -20
        fi
      done
    done < <(configs "$t")
  done
done
check=0
WSBENCH_GENERATED_SDKCONFIGS="$out" go test ./idf -run TestCheckGeneratedSDKConfigs -count=1 -v > "$out/check.log" 2>&1 || check=1
grep -E '^\s+(generated_test|---)|^(ok|FAIL)' "$out/check.log" || true
echo "syntax-only compiles: $clean clean, $dirty with diagnostics (generated configurations in $out)"
[ "$dirty" = 0 ] && [ "$check" = 0 ]

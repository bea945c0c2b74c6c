// Package idf builds and flashes the wsbench firmware (firmware/) with
// ESP-IDF's idf.py: one build directory, one sdkconfig and one size report per
// target and variant, so that every variant of a matrix is an image of its own.
//
// A build runs
//
//	idf.py -C <project> -B build/<target>/<variant> -D SDKCONFIG=build/<target>/<variant>/sdkconfig \
//	       -D SDKCONFIG_DEFAULTS="sdkconfig.defaults;sdkconfig.defaults.<target>;variants/<variant>.defaults" \
//	       [-D WSBENCH_WS_COMPONENT_PATH=<checkout>] [set-target <target>] build
//
// in two steps: configure (set-target, or reconfigure when a layer changed),
// then, once CheckSDKConfig has found that every line of every defaults layer
// took effect in the generated sdkconfig (reading the Kconfig files and
// sdkconfig.rename files that ESP-IDF's configure step lists in the build
// directory's config.env), build. A line that did not take effect fails the
// build before anything compiles, naming file:line and why. Then
// `idf.py size --format json2 --output-file build/<target>/<variant>/size.json`,
// so a report can show static memory beside the runtime samples.
//
// The package runs tools and reports their failures with the tail of their
// output; it must never parse a board's serial stream (that is the
// collector's job), never edit files of the project, and never leave a child
// process running after its context ends.
package idf

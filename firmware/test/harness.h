/* Cases table the Go test generates (harness_cases.c). */
#pragma once

#include <stddef.h>

typedef struct {
    const char *name;
    int type;        /* wsb_frame_type_t */
    const void *msg; /* pointer to the wsb_*_t of that type */
} harness_case_t;

extern const harness_case_t harness_cases[];
extern const size_t harness_n_cases;

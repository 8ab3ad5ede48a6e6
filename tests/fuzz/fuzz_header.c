/* fuzz_header - the header-section parser on any bytes, both line-ending
 * modes, against the byte-at-a-time reference */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_header.h"
#include "ref_headers.h"

static ta_header_field_t fields[64], ref_fields[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *buf = (const char *) data;
    ta_headers_t h, r;
    size_t       i;
    int          eol;

    for (eol = 0; eol < 2; eol++) {
        ta_headers_parse(&h, buf, size, (ta_eol_t) eol, fields, 64);
        ref_headers_parse(&r, buf, size, (ta_eol_t) eol, ref_fields, 64);
        if (h.nfields != r.nfields || h.flags != r.flags || h.anomaly_offset != r.anomaly_offset
            || h.body_offset != r.body_offset)
            abort();
        for (i = 0; i < h.nfields; i++) {
            if (fields[i].raw.data != ref_fields[i].raw.data || fields[i].raw.len != ref_fields[i].raw.len
                || fields[i].value.len != ref_fields[i].value.len || fields[i].name.len != ref_fields[i].name.len)
                abort();
        }
        if (h.nfields > 64 || h.body_offset > size)
            abort();
        for (i = 0; i < h.nfields; i++) {
            const ta_header_field_t *f = &fields[i];
            if (f->raw.data < buf || f->raw.data + f->raw.len > buf + size
                || f->value.data < f->raw.data || f->value.data + f->value.len > f->raw.data + f->raw.len
                || f->name.data != f->raw.data || f->name.len > f->raw.len)
                abort();
        }
        if (h.flags != 0 && !(h.flags & TA_HDR_8BIT) && h.anomaly_offset > size)
            abort();
        ta_headers_count(&h, ta_str("From", 4));
    }
    return 0;
}

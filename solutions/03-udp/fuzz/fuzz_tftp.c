/*
 * fuzz_tftp.c - fuzz target for tftp.c: tftp_decode on any datagram a peer
 * can send, and the encoders on what it decodes.
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_tftp [libFuzzer options] [corpus...]
 *
 * Input: one datagram; a "\xff\xff" K in it stands for a run of about
 * TFTP_MAX_PACKET bytes (fuzz_widen in fuzz.h), so that the largest DATA
 * gets tried. When tftp_decode accepts it, the packet goes back
 * through the encoder of its opcode, which must give the very same bytes
 * (TFTP has one spelling per packet), refuse a buffer one byte too small
 * without writing past it, and decode again to the same packet.
 *
 * See also tftp.h, common/fuzz.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "tftp.h"

/* Encode p into buf (size bytes) with the encoder of its opcode. */
static ssize_t encode(const struct tftp_packet *p, uint8_t *buf, size_t size)
{
    switch (p->opcode) {
    case TFTP_RRQ:
    case TFTP_WRQ:
        return tftp_encode_request(buf, size, p->opcode, p->filename, p->mode, p->options,
                                   p->n_options);
    case TFTP_DATA:
        return tftp_encode_data(buf, size, p->block, p->data, p->data_len);
    case TFTP_ACK:
        return tftp_encode_ack(buf, size, p->block);
    case TFTP_ERROR:
        return tftp_encode_error(buf, size, p->error_code, p->error_message);
    case TFTP_OACK:
        return tftp_encode_oack(buf, size, p->options, p->n_options);
    }
    FUZZ_CHECK(0, "decoded opcode %d", p->opcode);
    return -1;
}

static int same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_same(const struct tftp_packet *a, const struct tftp_packet *b)
{
    FUZZ_CHECK(a->opcode == b->opcode, "opcode %d, then %d", a->opcode, b->opcode);
    switch (a->opcode) {
    case TFTP_RRQ:
    case TFTP_WRQ:
        FUZZ_CHECK(same_string(a->filename, b->filename) && same_string(a->mode, b->mode),
                   "filename or mode differ");
        /* fall through: the options */
    case TFTP_OACK:
        FUZZ_CHECK(a->n_options == b->n_options, "%zu options, then %zu", a->n_options,
                   b->n_options);
        for (size_t i = 0; i < a->n_options; i++)
            FUZZ_CHECK(same_string(a->options[i].name, b->options[i].name) &&
                           same_string(a->options[i].value, b->options[i].value),
                       "option %zu differs", i);
        break;
    case TFTP_DATA:
        FUZZ_CHECK(a->block == b->block && a->data_len == b->data_len &&
                       (a->data_len == 0 || memcmp(a->data, b->data, a->data_len) == 0),
                   "DATA differs");
        break;
    case TFTP_ACK:
        FUZZ_CHECK(a->block == b->block, "block %u, then %u", a->block, b->block);
        break;
    case TFTP_ERROR:
        FUZZ_CHECK(a->error_code == b->error_code &&
                       same_string(a->error_message, b->error_message),
                   "ERROR differs");
        break;
    }
}

static void check_packet(const struct tftp_packet *p, size_t len)
{
    FUZZ_CHECK(p->n_options <= TFTP_MAX_OPTIONS, "%zu options", p->n_options);
    FUZZ_CHECK(strcmp(tftp_opcode_name(p->opcode), "opcode?") != 0, "opcode %d", p->opcode);
    if (p->opcode == TFTP_DATA)
        FUZZ_CHECK(p->data_len <= TFTP_MAX_BLKSIZE && p->data_len == len - 4,
                   "%zu bytes of data in %zu", p->data_len, len);
    if (p->opcode == TFTP_ERROR)
        FUZZ_CHECK(tftp_error_text(p->error_code) != NULL, "no text for %u", p->error_code);
    const char *blksize = tftp_option_value(p, "BLKSIZE");
    for (size_t i = 0; i < p->n_options && blksize != NULL; i++)
        if (strcasecmp(p->options[i].name, "blksize") == 0) {
            FUZZ_CHECK(blksize == p->options[i].value, "not the first blksize");
            break;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t near_limit[] = {TFTP_MAX_PACKET - 16};
    uint8_t *in = fuzz_widen(data, size, near_limit, 1, &size);
    struct tftp_packet p;
    const char *why = NULL;
    if (tftp_decode(in, size, &p, &why) == -1) {
        FUZZ_CHECK(why != NULL && why[0] != '\0', "refused without a reason");
        free(in);
        return 0;
    }
    check_packet(&p, size);

    uint8_t *out = fuzz_malloc(size);
    ssize_t n = encode(&p, out, size);
    FUZZ_CHECK(n == (ssize_t)size, "%zu bytes decoded, %zd encoded (%s)", size, n,
               n == -1 ? strerror(errno) : "");
    FUZZ_CHECK(memcmp(out, in, size) == 0, "encoded bytes differ");
    struct tftp_packet again;
    FUZZ_CHECK(tftp_decode(out, size, &again, &why) == 0, "re-encoded packet refused: %s", why);
    check_same(&p, &again);
    free(out);

    /* One byte short: refused with ENOSPC, and nothing written past it
     * (AddressSanitizer watches the block's end). */
    uint8_t *small = fuzz_malloc(size - 1);
    errno = 0;
    n = encode(&p, small, size - 1);
    FUZZ_CHECK(n == -1 && errno == ENOSPC, "%zd in %zu bytes (%s)", n, size - 1, strerror(errno));
    free(small);
    free(in);
    return 0;
}

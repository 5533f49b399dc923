// zlib (Debian's zlib1g-dev), for deflate in the PNG encoder.
#include <zlib.h>

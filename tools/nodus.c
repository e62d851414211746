#include <stdio.h>
#include "nodus.h"
int main(void) { puts(NODUS_VERSION_STRING); return 0; }

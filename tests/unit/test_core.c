#include "nodus.h"
int main(void) { return 0; }

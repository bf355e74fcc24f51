/* Test-only stand-in for Windows 10's bcryptprimitives.dll, which Wine 8.0 lacks.
 *
 * Rust's standard library (1.78 and later) fills its random seeds with ProcessPrng from this DLL,
 * so without it no Rust program starts under Wine 8.0. Real Windows has the DLL and nothing we
 * ship carries this file: tests/src/wine.rs compiles it with mingw-w64 into the test's private
 * Wine prefix (system32) only. ProcessPrng forwards to RtlGenRandom (advapi32's
 * SystemFunction036), which Wine implements. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    /* RtlGenRandom takes a 32-bit length: fill larger requests in pieces. */
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

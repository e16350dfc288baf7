/* A stand-in bcryptprimitives.dll for Wine older than 8.13 (Debian 12 ships 8.0), which has
 * none. Rust's standard library (1.78 and later) takes its random numbers from ProcessPrng in
 * that DLL, so without it every Rust program stops at start with c0000135 (DLL not found).
 * Used only to run the Windows build under Wine in scripts/windows.sh; never shipped: real
 * Windows 10 and 11 have the DLL. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

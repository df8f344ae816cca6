/* Keeps the phi library non-empty while the detector is being built. */
int phi_library_placeholder_(void);
int phi_library_placeholder_(void)
{
    return 0;
}

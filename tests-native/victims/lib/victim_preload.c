/* The library victim_preload puts in LD_PRELOAD: it does nothing but be
 * loaded first. */
int victim_preload_loaded(void);
int victim_preload_loaded(void)
{
    return 1;
}

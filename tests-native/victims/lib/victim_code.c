/* A library with a function whose first byte victim_patch changes. */
int victim_code_function(int x);
int victim_code_function(int x)
{
    return x * 3 + 1;
}

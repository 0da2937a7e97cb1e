namespace ZkLora.Model;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood; the seeding generator of xoshiro): a fixed, portable sequence
/// for deterministic test data such as the demo model's weights. Not for secrets.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    /// <summary>Starts the sequence at <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>The next 64-bit output.</summary>
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A double in [0, 1) from the top 53 bits of the next output.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A double uniform in [-amplitude, amplitude).</summary>
    public double NextSymmetric(double amplitude) => (2.0 * NextDouble() - 1.0) * amplitude;
}

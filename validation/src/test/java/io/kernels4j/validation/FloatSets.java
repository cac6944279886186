package io.kernels4j.validation;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Growable list of raw float bit patterns for building codec test inputs. */
final class FloatSets {
    private int[] bits = new int[1 << 16];
    private int size;

    FloatSets add(int b) {
        if (size == bits.length) bits = Arrays.copyOf(bits, size * 2);
        bits[size++] = b;
        return this;
    }

    FloatSets add(float f) {
        return add(Float.floatToRawIntBits(f));
    }

    /** f and -f, each with its two float neighbours (Math.nextUp / Math.nextDown). */
    FloatSets addWithNeighboursBothSigns(float f) {
        for (float s : new float[] {f, -f}) {
            add(s);
            add(Math.nextUp(s));
            add(Math.nextDown(s));
        }
        return this;
    }

    /** NaNs of both signs with several payloads (quiet and signalling). */
    FloatSets addNaNs(SplittableRandom r) {
        int[] payloads = {0x400000, 0x000001, 0x7FFFFF, 0x200000, 0x000100, 0x500001};
        for (int p : payloads) {
            add(0x7F800000 | p);
            add(0xFF800000 | p);
        }
        for (int i = 0; i < 64; i++) {
            int p = r.nextInt(1, 1 << 23);
            add(0x7F800000 | p);
            add(0xFF800000 | p);
        }
        return this;
    }

    /** Infinities, the largest floats, +-0 and the smallest float subnormals. */
    FloatSets addSpecials() {
        float[] s = {0f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, Float.POSITIVE_INFINITY, 1f};
        for (float f : s) addWithNeighboursBothSigns(f);
        return this;
    }

    /** n random patterns over all 2^32 bits (every exponent, NaN and infinities included). */
    FloatSets addRandomBits(SplittableRandom r, int n) {
        for (int i = 0; i < n; i++) add(r.nextInt());
        return this;
    }

    /** n random floats of either sign with an unbiased exponent uniform in [eLo, eHi] and random mantissa. */
    FloatSets addRandomExponents(SplittableRandom r, int n, int eLo, int eHi) {
        for (int i = 0; i < n; i++) {
            int e = r.nextInt(eLo, eHi + 1) + 127;
            int b = (e << 23) | r.nextInt(1 << 23);
            if (r.nextBoolean()) b |= 0x80000000;
            add(b);
        }
        return this;
    }

    /** Every stride-th bit pattern over the whole 32-bit space, from a random start. */
    FloatSets addSweep(SplittableRandom r, int stride) {
        long start = r.nextInt(stride) & 0xFFFFFFFFL;
        for (long b = start; b <= 0xFFFFFFFFL; b += stride) add((int) b);
        return this;
    }

    int size() {
        return size;
    }

    int[] toArray() {
        return Arrays.copyOf(bits, size);
    }
}

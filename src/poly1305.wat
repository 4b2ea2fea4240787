;; Poly1305 (RFC 8439, section 2.5) in WebAssembly: the tag of `S4.` stream frames (protocol 1.5).
;; src/poly1305-wasm.ts holds this module compiled (`npm run wasm` writes it; a test checks the two
;; agree). WebAssembly, because a call into it costs next to nothing, where a call into Node's
;; crypto, made on every frame, costs more than its hashing inside a busy app; and because its
;; 64-bit multiplications are what Poly1305 needs, which JavaScript lacks.
;;
;; The accumulator and r are five limbs of 26 bits; a product of two limbs and a sum of five of them
;; fit in 64 bits. The limbs are read with unaligned 32-bit loads, little-endian as WebAssembly is.
(module
  (memory (export "memory") 1)

  ;; The tag of the `len` bytes at `m` under the one-time key at `key` (r, then s: 16 bytes each),
  ;; written to the 16 bytes at `out`, which also serve as scratch for the last partial block and
  ;; must not overlap the message.
  (func (export "poly1305") (param $key i32) (param $m i32) (param $len i32) (param $out i32)
    (local $r0 i64) (local $r1 i64) (local $r2 i64) (local $r3 i64) (local $r4 i64)
    (local $s1 i64) (local $s2 i64) (local $s3 i64) (local $s4 i64)
    (local $h0 i64) (local $h1 i64) (local $h2 i64) (local $h3 i64) (local $h4 i64)
    (local $d0 i64) (local $d1 i64) (local $d2 i64) (local $d3 i64) (local $d4 i64)
    (local $g0 i64) (local $g1 i64) (local $g2 i64) (local $g3 i64) (local $g4 i64)
    (local $c i64) (local $hibit i64) (local $select i64)
    (local $p i32) (local $end i32) (local $last i32) (local $i i32) (local $tail i32)

    ;; r, clamped as the RFC says.
    (local.set $r0 (i64.and (i64.load32_u (local.get $key)) (i64.const 0x3ffffff)))
    (local.set $r1 (i64.and (i64.shr_u (i64.load32_u offset=3 (local.get $key)) (i64.const 2)) (i64.const 0x3ffff03)))
    (local.set $r2 (i64.and (i64.shr_u (i64.load32_u offset=6 (local.get $key)) (i64.const 4)) (i64.const 0x3ffc0ff)))
    (local.set $r3 (i64.and (i64.shr_u (i64.load32_u offset=9 (local.get $key)) (i64.const 6)) (i64.const 0x3f03fff)))
    (local.set $r4 (i64.and (i64.shr_u (i64.load32_u offset=12 (local.get $key)) (i64.const 8)) (i64.const 0x00fffff)))
    (local.set $s1 (i64.mul (local.get $r1) (i64.const 5)))
    (local.set $s2 (i64.mul (local.get $r2) (i64.const 5)))
    (local.set $s3 (i64.mul (local.get $r3) (i64.const 5)))
    (local.set $s4 (i64.mul (local.get $r4) (i64.const 5)))

    (local.set $hibit (i64.const 0x1000000))
    (local.set $p (local.get $m))
    (local.set $end (i32.add (local.get $m) (i32.and (local.get $len) (i32.const -16))))
    (local.set $tail (i32.and (local.get $len) (i32.const 15)))
    (block $done
      (loop $blocks
        (if (i32.ge_u (local.get $p) (local.get $end))
          (then
            (br_if $done (i32.or (local.get $last) (i32.eqz (local.get $tail))))
            ;; The last partial block: its bytes, a 1, then zeros; no high bit.
            (local.set $i (i32.const 0))
            (block $copied
              (loop $copy
                (br_if $copied (i32.ge_u (local.get $i) (local.get $tail)))
                (i32.store8 (i32.add (local.get $out) (local.get $i)) (i32.load8_u (i32.add (local.get $end) (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $copy)))
            (i32.store8 (i32.add (local.get $out) (local.get $i)) (i32.const 1))
            (block $zeroed
              (loop $zero
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $zeroed (i32.ge_u (local.get $i) (i32.const 16)))
                (i32.store8 (i32.add (local.get $out) (local.get $i)) (i32.const 0))
                (br $zero)))
            (local.set $p (local.get $out))
            (local.set $end (i32.add (local.get $out) (i32.const 16)))
            (local.set $hibit (i64.const 0))
            (local.set $last (i32.const 1))))

        ;; h += block
        (local.set $h0 (i64.add (local.get $h0) (i64.and (i64.load32_u (local.get $p)) (i64.const 0x3ffffff))))
        (local.set $h1 (i64.add (local.get $h1) (i64.and (i64.shr_u (i64.load32_u offset=3 (local.get $p)) (i64.const 2)) (i64.const 0x3ffffff))))
        (local.set $h2 (i64.add (local.get $h2) (i64.and (i64.shr_u (i64.load32_u offset=6 (local.get $p)) (i64.const 4)) (i64.const 0x3ffffff))))
        (local.set $h3 (i64.add (local.get $h3) (i64.and (i64.shr_u (i64.load32_u offset=9 (local.get $p)) (i64.const 6)) (i64.const 0x3ffffff))))
        (local.set $h4 (i64.add (local.get $h4) (i64.or (i64.shr_u (i64.load32_u offset=12 (local.get $p)) (i64.const 8)) (local.get $hibit))))

        ;; h *= r, modulo 2^130 - 5 (a limb above the top wraps around times 5)
        (local.set $d0 (i64.add (i64.add (i64.add (i64.add
          (i64.mul (local.get $h0) (local.get $r0)) (i64.mul (local.get $h1) (local.get $s4)))
          (i64.mul (local.get $h2) (local.get $s3))) (i64.mul (local.get $h3) (local.get $s2)))
          (i64.mul (local.get $h4) (local.get $s1))))
        (local.set $d1 (i64.add (i64.add (i64.add (i64.add
          (i64.mul (local.get $h0) (local.get $r1)) (i64.mul (local.get $h1) (local.get $r0)))
          (i64.mul (local.get $h2) (local.get $s4))) (i64.mul (local.get $h3) (local.get $s3)))
          (i64.mul (local.get $h4) (local.get $s2))))
        (local.set $d2 (i64.add (i64.add (i64.add (i64.add
          (i64.mul (local.get $h0) (local.get $r2)) (i64.mul (local.get $h1) (local.get $r1)))
          (i64.mul (local.get $h2) (local.get $r0))) (i64.mul (local.get $h3) (local.get $s4)))
          (i64.mul (local.get $h4) (local.get $s3))))
        (local.set $d3 (i64.add (i64.add (i64.add (i64.add
          (i64.mul (local.get $h0) (local.get $r3)) (i64.mul (local.get $h1) (local.get $r2)))
          (i64.mul (local.get $h2) (local.get $r1))) (i64.mul (local.get $h3) (local.get $r0)))
          (i64.mul (local.get $h4) (local.get $s4))))
        (local.set $d4 (i64.add (i64.add (i64.add (i64.add
          (i64.mul (local.get $h0) (local.get $r4)) (i64.mul (local.get $h1) (local.get $r3)))
          (i64.mul (local.get $h2) (local.get $r2))) (i64.mul (local.get $h3) (local.get $r1)))
          (i64.mul (local.get $h4) (local.get $r0))))

        ;; carry the limbs back to 26 bits (the top one's carry re-enters times 5)
        (local.set $c (i64.shr_u (local.get $d0) (i64.const 26)))
        (local.set $h0 (i64.and (local.get $d0) (i64.const 0x3ffffff)))
        (local.set $d1 (i64.add (local.get $d1) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d1) (i64.const 26)))
        (local.set $h1 (i64.and (local.get $d1) (i64.const 0x3ffffff)))
        (local.set $d2 (i64.add (local.get $d2) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d2) (i64.const 26)))
        (local.set $h2 (i64.and (local.get $d2) (i64.const 0x3ffffff)))
        (local.set $d3 (i64.add (local.get $d3) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d3) (i64.const 26)))
        (local.set $h3 (i64.and (local.get $d3) (i64.const 0x3ffffff)))
        (local.set $d4 (i64.add (local.get $d4) (local.get $c)))
        (local.set $c (i64.shr_u (local.get $d4) (i64.const 26)))
        (local.set $h4 (i64.and (local.get $d4) (i64.const 0x3ffffff)))
        (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
        (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
        (local.set $h0 (i64.and (local.get $h0) (i64.const 0x3ffffff)))
        (local.set $h1 (i64.add (local.get $h1) (local.get $c)))

        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $blocks)))

    ;; fully carry h
    (local.set $c (i64.shr_u (local.get $h1) (i64.const 26)))
    (local.set $h1 (i64.and (local.get $h1) (i64.const 0x3ffffff)))
    (local.set $h2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h2) (i64.const 26)))
    (local.set $h2 (i64.and (local.get $h2) (i64.const 0x3ffffff)))
    (local.set $h3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h3) (i64.const 26)))
    (local.set $h3 (i64.and (local.get $h3) (i64.const 0x3ffffff)))
    (local.set $h4 (i64.add (local.get $h4) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $h4) (i64.const 26)))
    (local.set $h4 (i64.and (local.get $h4) (i64.const 0x3ffffff)))
    (local.set $h0 (i64.add (local.get $h0) (i64.mul (local.get $c) (i64.const 5))))
    (local.set $c (i64.shr_u (local.get $h0) (i64.const 26)))
    (local.set $h0 (i64.and (local.get $h0) (i64.const 0x3ffffff)))
    (local.set $h1 (i64.add (local.get $h1) (local.get $c)))

    ;; g = h + 5 - 2^130: h is reduced below p = 2^130 - 5 by taking g when it is not negative
    (local.set $g0 (i64.add (local.get $h0) (i64.const 5)))
    (local.set $c (i64.shr_u (local.get $g0) (i64.const 26)))
    (local.set $g0 (i64.and (local.get $g0) (i64.const 0x3ffffff)))
    (local.set $g1 (i64.add (local.get $h1) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g1) (i64.const 26)))
    (local.set $g1 (i64.and (local.get $g1) (i64.const 0x3ffffff)))
    (local.set $g2 (i64.add (local.get $h2) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g2) (i64.const 26)))
    (local.set $g2 (i64.and (local.get $g2) (i64.const 0x3ffffff)))
    (local.set $g3 (i64.add (local.get $h3) (local.get $c)))
    (local.set $c (i64.shr_u (local.get $g3) (i64.const 26)))
    (local.set $g3 (i64.and (local.get $g3) (i64.const 0x3ffffff)))
    (local.set $g4 (i64.sub (i64.add (local.get $h4) (local.get $c)) (i64.const 0x4000000)))
    ;; all ones when g4 is not negative (take g), zero when it is (keep h); no branch on secret data
    (local.set $select (i64.sub (i64.shr_u (local.get $g4) (i64.const 63)) (i64.const 1)))
    (local.set $h0 (i64.or (i64.and (local.get $h0) (i64.xor (local.get $select) (i64.const -1))) (i64.and (local.get $g0) (local.get $select))))
    (local.set $h1 (i64.or (i64.and (local.get $h1) (i64.xor (local.get $select) (i64.const -1))) (i64.and (local.get $g1) (local.get $select))))
    (local.set $h2 (i64.or (i64.and (local.get $h2) (i64.xor (local.get $select) (i64.const -1))) (i64.and (local.get $g2) (local.get $select))))
    (local.set $h3 (i64.or (i64.and (local.get $h3) (i64.xor (local.get $select) (i64.const -1))) (i64.and (local.get $g3) (local.get $select))))
    (local.set $h4 (i64.or (i64.and (local.get $h4) (i64.xor (local.get $select) (i64.const -1))) (i64.and (local.get $g4) (local.get $select))))

    ;; h mod 2^128 as four 32-bit words, plus s
    (local.set $h0 (i64.and (i64.or (local.get $h0) (i64.shl (local.get $h1) (i64.const 26))) (i64.const 0xffffffff)))
    (local.set $h1 (i64.and (i64.or (i64.shr_u (local.get $h1) (i64.const 6)) (i64.shl (local.get $h2) (i64.const 20))) (i64.const 0xffffffff)))
    (local.set $h2 (i64.and (i64.or (i64.shr_u (local.get $h2) (i64.const 12)) (i64.shl (local.get $h3) (i64.const 14))) (i64.const 0xffffffff)))
    (local.set $h3 (i64.and (i64.or (i64.shr_u (local.get $h3) (i64.const 18)) (i64.shl (local.get $h4) (i64.const 8))) (i64.const 0xffffffff)))
    (local.set $c (i64.add (local.get $h0) (i64.load32_u offset=16 (local.get $key))))
    (i64.store32 (local.get $out) (local.get $c))
    (local.set $c (i64.add (i64.add (local.get $h1) (i64.load32_u offset=20 (local.get $key))) (i64.shr_u (local.get $c) (i64.const 32))))
    (i64.store32 offset=4 (local.get $out) (local.get $c))
    (local.set $c (i64.add (i64.add (local.get $h2) (i64.load32_u offset=24 (local.get $key))) (i64.shr_u (local.get $c) (i64.const 32))))
    (i64.store32 offset=8 (local.get $out) (local.get $c))
    (local.set $c (i64.add (i64.add (local.get $h3) (i64.load32_u offset=28 (local.get $key))) (i64.shr_u (local.get $c) (i64.const 32))))
    (i64.store32 offset=12 (local.get $out) (local.get $c))))

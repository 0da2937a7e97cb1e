namespace ZkLora.Math

/// Parameters of the Pallas base field Fp (= the Vesta scalar field):
/// p = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001.
/// Every derived constant is recomputed from these limbs and checked at start-up.
[<Struct>]
type PallasBase =
    interface IFieldParams with
        static member P0 = 0x992d30ed00000001UL
        static member P1 = 0x224698fc094cf91bUL
        static member P2 = 0x0000000000000000UL
        static member P3 = 0x4000000000000000UL
        static member Inv = 0x992d30ecffffffffUL
        static member TwoAdicity = 32
        static member MultiplicativeGenerator = 5UL
        static member Name = "Fp"

/// Parameters of the Vesta base field Fq (= the Pallas scalar field):
/// q = 0x40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001.
[<Struct>]
type VestaBase =
    interface IFieldParams with
        static member P0 = 0x8c46eb2100000001UL
        static member P1 = 0x224698fc0994a8ddUL
        static member P2 = 0x0000000000000000UL
        static member P3 = 0x4000000000000000UL
        static member Inv = 0x8c46eb20ffffffffUL
        static member TwoAdicity = 32
        static member MultiplicativeGenerator = 5UL
        static member Name = "Fq"

/// An element of the Pallas base field (the circuit field of zkLoRA).
type Fp = FieldElement<PallasBase>
/// An element of the Vesta base field.
type Fq = FieldElement<VestaBase>

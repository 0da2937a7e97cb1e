namespace ZkLora.Proofs

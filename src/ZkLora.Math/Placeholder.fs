namespace ZkLora.Math

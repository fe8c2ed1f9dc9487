"""Names for the Chinese explanation sentences that rules write beside their English ones.

Reviewers and exposure screens in the first city read Simplified Chinese; a case's explanation
is the one sentence they read first, so each rule words it in both languages itself (the rule
knows what it measured) and this module only supplies the nouns.
"""

from __future__ import annotations

CLASS_ZH = {
    "person": "行人",
    "bicycle": "自行车",
    "motorcycle": "摩托车/电动车",
    "car": "汽车",
    "bus": "公交车",
    "truck": "货车",
    "rider": "骑车人",
    "object": "物品",
}
# What else a COCO detector names (a no-litter zone judges any of them): the Chinese word, so a
# litter case says 瓶子, not "bottle", on a Chinese page, sheet and explanation.
OBJECT_ZH = {
    "airplane": "飞机", "train": "火车", "boat": "船", "traffic light": "交通信号灯", "fire hydrant": "消防栓",
    "stop sign": "停车标志", "parking meter": "停车计时器", "bench": "长椅", "bird": "鸟", "cat": "猫", "dog": "狗",
    "horse": "马", "sheep": "羊", "cow": "牛", "elephant": "大象", "bear": "熊", "zebra": "斑马", "giraffe": "长颈鹿",
    "backpack": "背包", "umbrella": "雨伞", "handbag": "手提包", "tie": "领带", "suitcase": "行李箱", "frisbee": "飞盘",
    "skis": "滑雪板", "snowboard": "单板滑雪板", "sports ball": "球", "kite": "风筝", "baseball bat": "棒球棒",
    "baseball glove": "棒球手套", "skateboard": "滑板", "surfboard": "冲浪板", "tennis racket": "网球拍",
    "bottle": "瓶子", "wine glass": "酒杯", "cup": "杯子", "fork": "叉子", "knife": "刀", "spoon": "勺子", "bowl": "碗",
    "banana": "香蕉", "apple": "苹果", "sandwich": "三明治", "orange": "橙子", "broccoli": "西兰花", "carrot": "胡萝卜",
    "hot dog": "热狗", "pizza": "披萨", "donut": "甜甜圈", "cake": "蛋糕", "chair": "椅子", "couch": "沙发",
    "potted plant": "盆栽", "bed": "床", "dining table": "餐桌", "toilet": "马桶", "tv": "电视", "laptop": "笔记本电脑",
    "mouse": "鼠标", "remote": "遥控器", "keyboard": "键盘", "cell phone": "手机", "microwave": "微波炉", "oven": "烤箱",
    "toaster": "烤面包机", "sink": "水槽", "refrigerator": "冰箱", "book": "书", "clock": "钟", "vase": "花瓶",
    "scissors": "剪刀", "teddy bear": "玩具熊", "hair drier": "吹风机", "toothbrush": "牙刷",
}


def class_zh(name: str) -> str:
    """The Chinese word for a detector class; unknown classes keep their English name."""
    return CLASS_ZH.get(name) or OBJECT_ZH.get(name, name)


def ids_text(track_ids) -> str:  # noqa: ANN001
    return "、".join(f"#{i}" for i in track_ids)

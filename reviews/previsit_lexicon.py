"""The words the pre-visit compile looks for, in English and Simplified Chinese.

Data only: `reviews.previsit_compile` builds its patterns from these tuples. English
entries match case-insensitively as whole words (a space matches any run of spaces, an
apostrophe is optional); Chinese entries match as substrings, so they are kept at least
two characters long where one character would also appear inside unrelated words. A
synonym belongs to one term only: the longest match wins, so "偏头痛" is a migraine and
not a headache.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    key: str  # stable: stored in summaries and read by integrators
    label: str  # English display name
    english: tuple[str, ...]
    chinese: tuple[str, ...] = ()

    @property
    def synonyms(self) -> tuple[str, ...]:
        return self.english + self.chinese


SYMPTOMS: tuple[Term, ...] = (
    Term("headache", "Headache", ("headache", "headaches", "head hurts", "head is pounding"), ("头痛", "头疼")),
    Term("migraine", "Migraine", ("migraine", "migraines"), ("偏头痛",)),
    Term("fever", "Fever", ("fever", "feverish", "high temperature"), ("发烧", "发热", "低烧", "高烧", "烧到")),
    Term("cough", "Cough", ("cough", "coughs", "coughing"), ("咳嗽", "干咳", "咳痰")),
    Term(
        "sore_throat", "Sore throat", ("sore throat", "throat hurts"), ("喉咙痛", "喉咙疼", "嗓子疼", "嗓子痛", "咽痛")
    ),
    Term("runny_nose", "Runny nose", ("runny nose",), ("流鼻涕", "流涕")),
    Term("blocked_nose", "Blocked nose", ("blocked nose", "stuffy nose"), ("鼻塞",)),
    Term("sneezing", "Sneezing", ("sneezing",), ("打喷嚏",)),
    Term("nausea", "Nausea", ("nausea", "nauseous", "nauseated", "feel sick", "feeling sick"), ("恶心", "想吐")),
    Term(
        "vomiting",
        "Vomiting",
        ("vomiting", "vomit", "vomited", "throwing up", "threw up"),
        ("呕吐", "吐了", "孕吐"),
    ),
    Term("diarrhoea", "Diarrhoea", ("diarrhoea", "diarrhea", "loose stools"), ("腹泻", "拉肚子", "拉稀")),
    Term("constipation", "Constipation", ("constipation", "constipated"), ("便秘",)),
    Term(
        "abdominal_pain",
        "Abdominal pain",
        ("abdominal pain", "stomach ache", "stomachache", "stomach pain", "tummy ache", "belly pain"),
        ("肚子疼", "肚子痛", "腹痛", "胃痛", "胃疼", "小腹痛", "小腹疼"),
    ),
    Term("heartburn", "Heartburn", ("heartburn", "acid reflux"), ("烧心", "反酸")),
    Term("loss_of_appetite", "Loss of appetite", ("loss of appetite", "poor appetite"), ("食欲不振", "没胃口")),
    Term("bleeding", "Bleeding", ("bleeding", "bleed", "bled", "spotting"), ("出血", "流血", "见红")),
    Term(
        "vaginal_discharge",
        "Vaginal discharge",
        ("vaginal discharge",),
        ("白带多", "白带异常", "分泌物"),
    ),
    Term(
        "reduced_fetal_movement",
        "Reduced fetal movement",
        (
            "reduced fetal movement",
            "reduced fetal movements",
            "baby moving less",
            "baby is moving less",
            "fewer kicks",
            "less movement",
        ),
        ("胎动少", "胎动减少", "胎动变少", "胎动少了"),
    ),
    Term("contractions", "Contractions", ("contractions", "contraction"), ("宫缩",)),
    Term(
        "shortness_of_breath",
        "Shortness of breath",
        ("shortness of breath", "short of breath", "breathless", "breathlessness"),
        ("气短", "呼吸困难", "喘不过气", "喘不上气"),
    ),
    Term("chest_pain", "Chest pain", ("chest pain", "chest tightness"), ("胸痛", "胸口痛", "胸口疼", "胸闷")),
    Term("palpitations", "Palpitations", ("palpitations", "heart racing", "racing heart"), ("心慌", "心悸")),
    Term("back_pain", "Back pain", ("back pain", "backache", "back ache"), ("腰痛", "腰疼", "背痛", "腰酸")),
    Term("joint_pain", "Joint pain", ("joint pain", "joints hurt"), ("关节痛", "关节疼")),
    Term("muscle_aches", "Muscle aches", ("muscle aches", "body aches", "aching all over"), ("肌肉酸痛", "全身酸痛")),
    Term("leg_cramps", "Leg cramps", ("leg cramps", "leg cramp"), ("抽筋",)),
    Term("rash", "Rash", ("rash", "rashes", "hives"), ("皮疹", "疹子", "红疹", "荨麻疹")),
    Term("itching", "Itching", ("itching", "itchy"), ("瘙痒", "发痒", "痒")),
    Term("dizziness", "Dizziness", ("dizziness", "dizzy", "lightheaded", "light-headed"), ("头晕", "眩晕", "头昏")),
    Term("fainting", "Fainting", ("fainted", "fainting", "passed out", "blacked out"), ("晕倒", "昏倒", "晕厥")),
    Term(
        "swelling",
        "Swelling",
        ("swelling", "swollen", "swollen feet", "swollen ankles", "swollen legs", "swollen hands", "swollen face"),
        ("水肿", "浮肿", "肿胀", "脚肿", "腿肿", "脚踝肿", "手肿", "脸肿"),
    ),
    Term("numbness", "Numbness or tingling", ("numbness", "tingling"), ("麻木", "发麻", "手麻")),
    Term("blurred_vision", "Blurred vision", ("blurred vision", "blurry vision"), ("视力模糊", "看东西模糊", "眼花")),
    Term("fatigue", "Fatigue", ("fatigue", "tired", "exhausted"), ("乏力", "疲劳", "疲惫", "很累", "好累", "特别累")),
    Term(
        "insomnia",
        "Insomnia",
        ("insomnia", "can't sleep", "cannot sleep", "trouble sleeping"),
        ("失眠", "睡不着"),
    ),
    Term("anxiety", "Anxiety", ("anxiety", "anxious"), ("焦虑",)),
    Term("low_mood", "Low mood", ("low mood", "depressed"), ("情绪低落", "抑郁")),
    Term("frequent_urination", "Frequent urination", ("frequent urination", "peeing a lot"), ("尿频",)),
    Term(
        "painful_urination",
        "Painful urination",
        ("painful urination", "burning when i pee", "pain when urinating", "hurts to pee"),
        ("尿痛", "小便痛", "小便疼"),
    ),
    Term("earache", "Earache", ("earache", "ear pain", "ear hurts"), ("耳朵痛", "耳朵疼", "耳痛")),
    Term("toothache", "Toothache", ("toothache", "tooth pain"), ("牙痛", "牙疼")),
    Term("weight_loss", "Weight loss", ("weight loss", "losing weight"), ("体重下降", "消瘦")),
    Term("jaundice", "Jaundice", ("jaundice", "yellow skin"), ("黄疸", "皮肤发黄")),
)

MEDICATIONS: tuple[Term, ...] = (
    Term(
        "paracetamol",
        "Paracetamol",
        ("paracetamol", "acetaminophen", "tylenol", "panadol"),
        ("对乙酰氨基酚", "扑热息痛", "泰诺", "必理通"),
    ),
    Term("ibuprofen", "Ibuprofen", ("ibuprofen", "advil", "nurofen", "motrin"), ("布洛芬", "美林", "芬必得")),
    Term("aspirin", "Aspirin", ("aspirin",), ("阿司匹林",)),
    Term("amoxicillin", "Amoxicillin", ("amoxicillin", "amoxil"), ("阿莫西林",)),
    Term(
        "cephalosporin",
        "Cephalosporin",
        ("cephalosporin", "cephalosporins", "cefuroxime", "cefalexin", "cephalexin", "cefixime"),
        ("头孢",),
    ),
    Term("azithromycin", "Azithromycin", ("azithromycin", "zithromax"), ("阿奇霉素",)),
    Term("metronidazole", "Metronidazole", ("metronidazole", "flagyl"), ("甲硝唑",)),
    Term("nitrofurantoin", "Nitrofurantoin", ("nitrofurantoin",), ("呋喃妥因",)),
    Term("clotrimazole", "Clotrimazole", ("clotrimazole", "canesten"), ("克霉唑",)),
    Term("oseltamivir", "Oseltamivir", ("oseltamivir", "tamiflu"), ("奥司他韦", "达菲")),
    Term("metformin", "Metformin", ("metformin", "glucophage"), ("二甲双胍",)),
    Term("insulin", "Insulin", ("insulin",), ("胰岛素",)),
    Term("folic_acid", "Folic acid", ("folic acid", "folate"), ("叶酸",)),
    Term(
        "iron_supplement",
        "Iron supplement",
        ("iron supplement", "iron supplements", "iron tablets", "iron pills", "ferrous sulfate", "ferrous sulphate"),
        ("铁剂", "补铁", "硫酸亚铁", "琥珀酸亚铁"),
    ),
    Term("calcium", "Calcium", ("calcium",), ("钙片", "补钙", "钙尔奇")),
    Term("vitamin_d", "Vitamin D", ("vitamin d", "vit d"), ("维生素D", "维D")),
    Term("vitamin_b6", "Vitamin B6", ("vitamin b6", "pyridoxine"), ("维生素B6",)),
    Term("prenatal_vitamins", "Prenatal vitamins", ("prenatal vitamins", "prenatal vitamin"), ("复合维生素", "爱乐维")),
    Term("dha", "DHA", ("dha",)),
    Term("labetalol", "Labetalol", ("labetalol",), ("拉贝洛尔",)),
    Term("nifedipine", "Nifedipine", ("nifedipine", "adalat"), ("硝苯地平",)),
    Term("methyldopa", "Methyldopa", ("methyldopa",), ("甲基多巴",)),
    Term("amlodipine", "Amlodipine", ("amlodipine", "norvasc"), ("氨氯地平",)),
    Term(
        "heparin",
        "Heparin",
        ("heparin", "enoxaparin", "clexane", "low molecular weight heparin"),
        ("肝素", "依诺肝素"),
    ),
    Term(
        "levothyroxine",
        "Levothyroxine",
        ("levothyroxine", "thyroxine", "euthyrox", "synthroid"),
        ("左甲状腺素", "优甲乐", "雷替斯"),
    ),
    Term(
        "progesterone",
        "Progesterone",
        ("progesterone", "utrogestan", "dydrogesterone", "duphaston"),
        ("黄体酮", "地屈孕酮", "达芙通"),
    ),
    Term("prednisone", "Prednisone", ("prednisone", "prednisolone"), ("泼尼松", "强的松")),
    Term("hydrocortisone", "Hydrocortisone", ("hydrocortisone",), ("氢化可的松",)),
    Term("cetirizine", "Cetirizine", ("cetirizine", "zyrtec"), ("西替利嗪", "仙特明")),
    Term("loratadine", "Loratadine", ("loratadine", "claritin"), ("氯雷他定", "开瑞坦")),
    Term("omeprazole", "Omeprazole", ("omeprazole", "losec", "prilosec"), ("奥美拉唑",)),
    Term("antacid", "Antacid", ("antacid", "antacids", "gaviscon"), ("铝碳酸镁", "达喜")),
    Term("domperidone", "Domperidone", ("domperidone", "motilium"), ("吗丁啉", "多潘立酮")),
    Term("ondansetron", "Ondansetron", ("ondansetron", "zofran"), ("昂丹司琼",)),
    Term("loperamide", "Loperamide", ("loperamide", "imodium"), ("洛哌丁胺", "易蒙停")),
    Term("smectite", "Smectite (montmorillonite)", ("smecta", "montmorillonite"), ("蒙脱石散", "思密达")),
    Term("lactulose", "Lactulose", ("lactulose", "duphalac"), ("乳果糖",)),
    Term(
        "oral_rehydration_salts",
        "Oral rehydration salts",
        ("oral rehydration salts", "oral rehydration solution", "ors"),
        ("口服补液盐", "补液盐"),
    ),
    Term("salbutamol", "Salbutamol", ("salbutamol", "albuterol", "ventolin"), ("沙丁胺醇", "万托林")),
    Term("montelukast", "Montelukast", ("montelukast", "singulair"), ("孟鲁司特", "顺尔宁")),
    Term("dextromethorphan", "Dextromethorphan", ("dextromethorphan",), ("右美沙芬",)),
    Term("cough_syrup", "Cough syrup", ("cough syrup", "cough medicine"), ("止咳糖浆", "止咳药", "川贝枇杷膏")),
    Term("sertraline", "Sertraline", ("sertraline", "zoloft"), ("舍曲林",)),
    Term("lianhua_qingwen", "Lianhua Qingwen", ("lianhua qingwen",), ("连花清瘟",)),
    Term("banlangen", "Banlangen", ("banlangen",), ("板蓝根",)),
)

# What people say they are allergic to besides medicines (any medication above counts too).
ALLERGENS: tuple[Term, ...] = (
    Term("penicillin", "Penicillin", ("penicillin", "penicillins"), ("青霉素", "盘尼西林")),
    Term("sulfa", "Sulfa drugs", ("sulfa", "sulpha", "sulfonamide", "sulfonamides"), ("磺胺",)),
    Term("peanuts", "Peanuts", ("peanut", "peanuts"), ("花生",)),
    Term("tree_nuts", "Tree nuts", ("tree nuts", "nuts"), ("坚果",)),
    Term("seafood", "Seafood", ("seafood", "shellfish", "shrimp", "prawns", "crab"), ("海鲜", "虾", "螃蟹")),
    Term("latex", "Latex", ("latex",), ("乳胶",)),
    Term("eggs", "Eggs", ("egg", "eggs"), ("鸡蛋",)),
    Term("milk", "Milk", ("milk", "dairy", "cow's milk"), ("牛奶", "乳制品")),
    Term("pollen", "Pollen", ("pollen",), ("花粉",)),
    Term("dust_mites", "Dust mites", ("dust mite", "dust mites", "house dust mite"), ("尘螨",)),
    Term("mango", "Mango", ("mango", "mangoes"), ("芒果",)),
    Term("alcohol", "Alcohol", ("alcohol",), ("酒精",)),
)

# Negation cues that cancel a mention later in the same clause ("no headache",
# "没有头痛", "not allergic to penicillin"). A bare 不 only counts right before the term
# ("不发烧"), and not in words where it means something else ("不停咳嗽": coughing nonstop).
NEGATIONS_EN: tuple[str, ...] = (
    "no",
    "not",
    "never",
    "without",
    "denies",
    "don't have",
    "doesn't have",
    "haven't had",
    "hasn't had",
    "didn't have",
    "haven't got",
    "isn't",
    "wasn't",
    "no longer",
    "free of",
)
NEGATIONS_ZH: tuple[str, ...] = ("没有", "没", "无", "未", "并无", "不再")
NEGATION_ZH_NEAR: str = "不"
NOT_NEGATIONS_ZH: tuple[str, ...] = ("不停", "不断", "不止", "不住", "不舒服", "不知道", "不了", "不好")
# Words that start a new thought: a negation before them does not reach past them
# ("no fever and my ankles are swollen", "I haven't had a fever since the headache began",
# "不发烧还是头痛").
NEGATION_BREAKS: tuple[str, ...] = (
    "but",
    "however",
    "although",
    "though",
    "except",
    "and i",
    "and my",
    "and it",
    "and the",
    "and now",
    "then",
    "since",
    "because",
    "so",
    "after",
    "while",
    "when",
    "但是",
    "但",
    "可是",
    "不过",
    "就是",
    "而且",
    "却",
    "还",
    "又",
)

# A sentence asks something when it ends in a question mark, starts with one of these
# English words, or holds one of these Chinese words.
QUESTION_STARTS_EN: tuple[str, ...] = (
    "how",
    "what",
    "when",
    "where",
    "why",
    "which",
    "who",
    "can i",
    "could i",
    "should i",
    "shall i",
    "may i",
    "is it",
    "is this",
    "is that",
    "is there",
    "are",
    "am i",
    "do i",
    "does",
    "will",
    "would",
)
QUESTION_WORDS_ZH: tuple[str, ...] = (
    "吗",
    "呢",
    "怎么",
    "怎么办",
    "能不能",
    "可不可以",
    "可以吗",
    "是否",
    "要不要",
    "多少",
    "什么",
    "为什么",
    "会不会",
    "是不是",
    "有没有",
)
# Words that hold a question word without asking: 吗啡 is morphine, 没什么 "nothing much".
NOT_QUESTIONS_ZH: tuple[str, ...] = ("吗啡", "没什么")
